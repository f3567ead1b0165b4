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

// A list that follows the fixed part of a structure (its flexible array member): the stream
// ids of sctp_reset_streams, the bytes of an AUTH key, the chunk types of sctp_authchunks.
// Its length, counted in elements, is kept in `count`, a field of the fixed part that is
// not among the layout's fields: it is derived from the list, never given on its own.
struct Tail {
  const char* name;
  uint16_t offset;    // where the list starts
  FieldKind element;  // kU8 or kU16
  Field count;
  uint32_t max;  // the most elements written or read
};

struct Layout {
  const char* name;
  size_t size;  // sizeof the fixed part of the structure
  const Field* fields;
  size_t field_count;
  const Tail* tail = nullptr;
};

#define KSCTP_FIELDS(array) array, sizeof(array) / sizeof(array[0])

constexpr size_t FieldWidth(FieldKind kind) {
  switch (kind) {
    case FieldKind::kU8:
      return 1;
    case FieldKind::kU16:
    case FieldKind::kBe16:
      return 2;
    case FieldKind::kU32:
    case FieldKind::kI32:
    case FieldKind::kBe32:
      return 4;
    case FieldKind::kU64:
      return 8;
    case FieldKind::kAddress:
      return sizeof(sockaddr_storage);
  }
  return 0;
}

// A field's offset, checked at compile time: its kind reads exactly the member's bytes, and
// they lie inside the structure. A wrong kind in a table is a build error, not a misread.
template <size_t kOffset, size_t kWidth, size_t kStructSize, FieldKind kKind>
constexpr uint16_t CheckedOffset() {
  static_assert(kWidth == FieldWidth(kKind), "the field kind does not match the member's size");
  static_assert(kOffset + kWidth <= kStructSize, "the field lies outside its structure");
  static_assert(kOffset <= UINT16_MAX, "the offset does not fit a Field");
  return static_cast<uint16_t>(kOffset);
}

// One table entry for `member` of `type` (member may be nested: ssf_info.sinfo_stream).
#define KSCTP_FIELD(type, member, name, kind)                                             \
  {                                                                                       \
    name,                                                                                 \
        ::ksctp::CheckedOffset<offsetof(type, member),                                    \
                               sizeof(static_cast<type*>(nullptr)->member), sizeof(type), \
                               ::ksctp::FieldKind::kind>(),                               \
        ::ksctp::FieldKind::kind                                                          \
  }

// One decoded field: an integer, or an address.
struct Value {
  const char* name;
  bool is_address;
  int64_t number;
  Address address;
};

// Reads every field of `layout` from `data` (which must hold at least layout.size bytes).
std::vector<Value> DecodeFields(const Layout& layout, const uint8_t* data);

// Writes one integer field into `data` (at least layout.size bytes). Addresses are not
// numbers: EncodeInput writes them.
void EncodeNumber(const Field& field, int64_t value, uint8_t* data);

// The bytes a structure takes with `count` elements in its tail (none: the fixed part).
size_t StructSize(const Layout& layout, size_t count);

// The tail of a structure of `length` bytes (at least layout.size): as many elements as its
// count field says, but no more than the bytes hold or tail.max. Empty without a tail.
std::vector<uint32_t> DecodeTail(const Layout& layout, const uint8_t* data, size_t length);

// Writes a tail and its count field into `data` (StructSize(layout, elements.size()) bytes;
// at most tail.max elements, each cut to the element's width). Nothing without a tail.
void EncodeTail(const Layout& layout, const std::vector<uint32_t>& elements, uint8_t* data);

}  // namespace ksctp
