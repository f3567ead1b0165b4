// Every socket option's table entry, both ways: decoding whatever the kernel returns into
// fields, and encoding any integer into each field (only that field's bytes change, and it
// decodes back as the value cut to the field's width). A structure that ends in a list: a
// decoded list never reaches past the bytes or the bound, whatever its count field says,
// and an encoded one decodes back as written.
#include "../../native/options.h"

#include <string>
#include <vector>

#include "fuzz.h"

using namespace ksctp;

// The value a field of `kind` holds after `value` was written to it.
static int64_t Narrowed(FieldKind kind, int64_t value) {
  switch (kind) {
    case FieldKind::kU8:
      return static_cast<uint8_t>(value);
    case FieldKind::kU16:
    case FieldKind::kBe16:
      return static_cast<uint16_t>(value);
    case FieldKind::kU32:
    case FieldKind::kBe32:
      return static_cast<uint32_t>(value);
    case FieldKind::kI32:
      return static_cast<int32_t>(value);
    case FieldKind::kU64:
    case FieldKind::kAddress:
      return value;
  }
  return value;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  size_t count;
  const SocketOption* table = OptionTable(&count);
  uint8_t pick = in.Take<uint8_t>();
  if (pick == 0xff) {  // a name from the caller: found only when it is exactly one of ours
    std::string name(reinterpret_cast<const char*>(in.Rest()), in.Left());
    const SocketOption* found = FindOption(name);
    FUZZ_CHECK(found == nullptr || name == found->name);
    return 0;
  }
  const SocketOption& option = table[pick % count];
  const Layout& layout = option.layout;
  FUZZ_CHECK(FindOption(option.name) == &option);

  // Decoding: the structure as the kernel filled it (exact size, so over-reads are caught).
  std::vector<uint8_t> bytes(layout.size);
  for (auto& b : bytes) b = in.Take<uint8_t>();
  std::vector<Value> values = DecodeFields(layout, bytes.data());
  FUZZ_CHECK(values.size() == layout.field_count);
  for (size_t i = 0; i < values.size(); i++) {
    const Field& f = layout.fields[i];
    FUZZ_CHECK(f.offset + FieldWidth(f.kind) <= layout.size);
    if (!values[i].is_address) {
      FUZZ_CHECK(values[i].number == Narrowed(f.kind, values[i].number));
    }
  }

  // Encoding: each integer field in turn, into the decoded structure.
  for (size_t i = 0; i < layout.field_count; i++) {
    const Field& f = layout.fields[i];
    int64_t value = in.Take<int64_t>();
    std::vector<uint8_t> before = bytes;
    EncodeNumber(f, value, bytes.data());
    if (f.kind == FieldKind::kAddress) {  // addresses are not numbers: nothing is written
      FUZZ_CHECK(bytes == before);
      continue;
    }
    for (size_t k = 0; k < bytes.size(); k++) {
      if (k < f.offset || k >= f.offset + FieldWidth(f.kind)) FUZZ_CHECK(bytes[k] == before[k]);
    }
    Layout just_this{layout.name, layout.size, &f, 1};
    FUZZ_CHECK(DecodeFields(just_this, bytes.data())[0].number == Narrowed(f.kind, value));
  }

  const Tail* tail = layout.tail;
  if (!tail) return 0;
  // Decoding: the structure and some of its list, as many bytes as the input has left.
  std::vector<uint8_t> filled(bytes);
  while (in.Left() > 0 && filled.size() < StructSize(layout, tail->max)) {
    filled.push_back(in.Take<uint8_t>());
  }
  std::vector<uint32_t> list = DecodeTail(layout, filled.data(), filled.size());
  FUZZ_CHECK(list.size() <= tail->max);
  FUZZ_CHECK(StructSize(layout, list.size()) <= filled.size());
  // Encoding: the list just decoded, into a structure of exactly its size.
  std::vector<uint8_t> written(StructSize(layout, list.size()));
  EncodeTail(layout, list, written.data());
  FUZZ_CHECK(DecodeTail(layout, written.data(), written.size()) == list);
  return 0;
}
