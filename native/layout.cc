#include "layout.h"

#include <arpa/inet.h>

#include <cstring>

namespace ksctp {

template <typename T>
static T Load(const uint8_t* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));  // fields of packed structs may be unaligned
  return value;
}

template <typename T>
static void Store(uint8_t* p, T value) {
  std::memcpy(p, &value, sizeof(T));
}

std::vector<Value> DecodeFields(const Layout& layout, const uint8_t* data) {
  std::vector<Value> values;
  values.reserve(layout.field_count);
  for (size_t i = 0; i < layout.field_count; i++) {
    const Field& f = layout.fields[i];
    const uint8_t* p = data + f.offset;
    Value v{f.name, false, 0, {}};
    switch (f.kind) {
      case FieldKind::kU8:
        v.number = *p;
        break;
      case FieldKind::kU16:
        v.number = Load<uint16_t>(p);
        break;
      case FieldKind::kBe16:
        v.number = ntohs(Load<uint16_t>(p));
        break;
      case FieldKind::kU32:
        v.number = Load<uint32_t>(p);
        break;
      case FieldKind::kBe32:
        v.number = ntohl(Load<uint32_t>(p));
        break;
      case FieldKind::kI32:
        v.number = Load<int32_t>(p);
        break;
      case FieldKind::kU64:
        v.number = static_cast<int64_t>(Load<uint64_t>(p));
        break;
      case FieldKind::kAddress:
        v.is_address = true;
        if (!FromSockaddr(p, sizeof(sockaddr_storage), &v.address)) v.address = Address{};
        break;
    }
    values.push_back(std::move(v));
  }
  return values;
}

void EncodeNumber(const Field& f, int64_t value, uint8_t* data) {
  uint8_t* p = data + f.offset;
  switch (f.kind) {
    case FieldKind::kU8:
      *p = static_cast<uint8_t>(value);
      break;
    case FieldKind::kU16:
      Store<uint16_t>(p, static_cast<uint16_t>(value));
      break;
    case FieldKind::kBe16:
      Store<uint16_t>(p, htons(static_cast<uint16_t>(value)));
      break;
    case FieldKind::kU32:
      Store<uint32_t>(p, static_cast<uint32_t>(value));
      break;
    case FieldKind::kBe32:
      Store<uint32_t>(p, htonl(static_cast<uint32_t>(value)));
      break;
    case FieldKind::kI32:
      Store<int32_t>(p, static_cast<int32_t>(value));
      break;
    case FieldKind::kU64:
      Store<uint64_t>(p, static_cast<uint64_t>(value));
      break;
    case FieldKind::kAddress:
      break;
  }
}

size_t StructSize(const Layout& layout, size_t count) {
  if (!layout.tail) return layout.size;
  size_t end = layout.tail->offset + count * FieldWidth(layout.tail->element);
  return end > layout.size ? end : layout.size;
}

std::vector<uint32_t> DecodeTail(const Layout& layout, const uint8_t* data, size_t length) {
  std::vector<uint32_t> out;
  const Tail* tail = layout.tail;
  if (!tail || length < layout.size || length < tail->offset) return out;
  Layout count_only{layout.name, layout.size, &tail->count, 1};
  int64_t count = DecodeFields(count_only, data)[0].number;
  size_t width = FieldWidth(tail->element);
  size_t room = (length - tail->offset) / width;
  size_t n = static_cast<size_t>(count < 0 ? 0 : count);
  if (n > room) n = room;
  if (n > tail->max) n = tail->max;
  out.reserve(n);
  const uint8_t* p = data + tail->offset;
  for (size_t i = 0; i < n; i++) {
    out.push_back(tail->element == FieldKind::kU8 ? p[i] : Load<uint16_t>(p + 2 * i));
  }
  return out;
}

void EncodeTail(const Layout& layout, const std::vector<uint32_t>& elements, uint8_t* data) {
  const Tail* tail = layout.tail;
  if (!tail) return;
  size_t n = elements.size() < tail->max ? elements.size() : tail->max;
  EncodeNumber(tail->count, static_cast<int64_t>(n), data);
  uint8_t* p = data + tail->offset;
  for (size_t i = 0; i < n; i++) {
    if (tail->element == FieldKind::kU8) {
      p[i] = static_cast<uint8_t>(elements[i]);
    } else {
      Store<uint16_t>(p + 2 * i, static_cast<uint16_t>(elements[i]));
    }
  }
}

}  // namespace ksctp
