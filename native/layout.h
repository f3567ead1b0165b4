// Byte layouts of kernel structures, described as tables of fields.
//
// Notifications and socket options are decoded (and options encoded) by walking these
// tables, instead of one hand-written function per structure. Nothing here touches N-API,
// so the decoders can be unit-tested and fuzzed on their own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sockaddr.h"

namespace ksctp {

enum class FieldKind : uint8_t {
  kU8,
  kU16,
  kU32,
  kI32,
  kU64,
  kBe16,     // 16 bits in network byte order (e.g. an SCTP error cause code)
  kBe32,     // 32 bits in network byte order (a PPID as the kernel stores it)
  kAddress,  // struct sockaddr_storage
};

struct Field {
  const char* name;
  uint16_t offset;
  FieldKind kind;
};

struct Layout {
  const char* name;
  size_t size;  // sizeof the fixed part of the structure
  const Field* fields;
  size_t field_count;
};

#define KSCTP_FIELDS(array) array, sizeof(array) / sizeof(array[0])

// One decoded field: an integer, or an address.
struct Value {
  const char* name;
  bool is_address;
  int64_t number;
  Address address;
};

// Reads every field of `layout` from `data` (which must hold at least layout.size bytes).
std::vector<Value> DecodeFields(const Layout& layout, const uint8_t* data);

// Writes one integer field into `data` (at least layout.size bytes). Addresses are written
// with WriteAddressField.
void EncodeNumber(const Field& field, int64_t value, uint8_t* data);

}  // namespace ksctp
