// Shared by the libFuzzer targets in this directory (scripts/fuzz builds and runs them).
// A failed property aborts, so the fuzzer keeps the input that broke it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

// Reads the input front to back; past its end every read is zero.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  template <typename T>
  T Take() {
    T value{};
    size_t n = sizeof(T) < Left() ? sizeof(T) : Left();
    std::memcpy(&value, data_ + offset_, n);
    offset_ += n;
    return value;
  }
  const uint8_t* Rest() const { return data_ + offset_; }
  size_t Left() const { return size_ - offset_; }
  bool Empty() const { return Left() == 0; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t offset_ = 0;
};
