#include "convert.h"

#include <cmath>
#include <cstring>

#include "linux_sctp.h"
#include "options.h"

namespace ksctp {

Napi::Object AddressToJs(Napi::Env env, const Address& a) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("address", a.host);
  o.Set("family", a.family == AF_INET6 ? "IPv6" : a.family == AF_INET ? "IPv4" : "");
  o.Set("port", a.port);
  return o;
}

Napi::Object ValuesToJs(Napi::Env env, const std::vector<Value>& values, Napi::Object into) {
  for (const auto& v : values) {
    if (v.is_address) {
      into.Set(v.name, AddressToJs(env, v.address));
    } else {
      into.Set(v.name, Napi::Number::New(env, static_cast<double>(v.number)));
    }
  }
  return into;
}

Napi::Object NotificationToJs(Napi::Env env, const Notification& n, bool ok, const uint8_t* data,
                              size_t length) {
  Napi::Object o = Napi::Object::New(env);
  if (!ok) {
    o.Set("type", "malformed");
    o.Set("typeCode", n.type);
    o.Set("data", Napi::Buffer<uint8_t>::Copy(env, data, length));
    return o;
  }
  o.Set("type", n.name ? n.name : "unknown");
  o.Set("typeCode", n.type);
  o.Set("flags", n.flags);
  ValuesToJs(env, n.fields, o);
  if (n.extra_length > 0) {
    o.Set("data", Napi::Buffer<uint8_t>::Copy(env, data + n.extra_offset, n.extra_length));
  }
  if (n.type == SCTP_STREAM_RESET_EVENT) {
    Napi::Array streams = Napi::Array::New(env, n.streams.size());
    for (size_t i = 0; i < n.streams.size(); i++) streams.Set(i, n.streams[i]);
    o.Set("streams", streams);
  }
  return o;
}

Napi::Object OversizedNotificationToJs(Napi::Env env, size_t limit) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", "malformed");
  o.Set("typeCode", 0);
  o.Set("tooLarge", static_cast<double>(limit));
  return o;
}

std::vector<std::string> StringArray(const Napi::Value& v) {
  std::vector<std::string> out;
  if (!v.IsArray()) return out;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value item = a.Get(i);
    if (item.IsString()) out.push_back(item.As<Napi::String>().Utf8Value());
  }
  return out;
}

void EncodeInput(const Layout& layout, int family, Napi::Object input, uint8_t* buffer) {
  for (size_t i = 0; i < layout.field_count; i++) {
    const Field& f = layout.fields[i];
    if (!input.Has(f.name)) continue;
    Napi::Value v = input.Get(f.name);
    if (f.kind == FieldKind::kAddress) {
      std::string host;
      uint16_t port = 0;
      if (v.IsString()) {
        host = v.As<Napi::String>().Utf8Value();
      } else if (v.IsObject()) {
        Napi::Object o = v.As<Napi::Object>();
        if (o.Get("address").IsString()) host = o.Get("address").As<Napi::String>().Utf8Value();
        if (o.Get("port").IsNumber()) {
          port = static_cast<uint16_t>(o.Get("port").As<Napi::Number>().Uint32Value());
        }
      }
      sockaddr_storage ss;
      if (!host.empty() && ToSockaddr(host, port, family, &ss) > 0) {
        std::memcpy(buffer + f.offset, &ss, sizeof(ss));
      }
    } else if (v.IsNumber() || v.IsBoolean()) {
      double number = v.ToNumber().DoubleValue();
      // The cast below is undefined outside int64's range.
      if (!std::isfinite(number) || std::fabs(number) >= 9.2e18) continue;
      EncodeNumber(f, static_cast<int64_t>(number), buffer);
    }
  }
}

std::vector<uint32_t> TailFromJs(const Layout& layout, Napi::Object input) {
  std::vector<uint32_t> out;
  const Tail* tail = layout.tail;
  if (!tail || !input.Has(tail->name)) return out;
  Napi::Value v = input.Get(tail->name);
  if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    Napi::Uint8Array bytes = v.As<Napi::Uint8Array>();
    size_t n = bytes.ElementLength() < tail->max ? bytes.ElementLength() : tail->max;
    out.assign(bytes.Data(), bytes.Data() + n);
  } else if (v.IsArray()) {
    Napi::Array list = v.As<Napi::Array>();
    uint32_t n = list.Length() < tail->max ? list.Length() : tail->max;
    for (uint32_t i = 0; i < n; i++) {
      Napi::Value item = list.Get(i);
      out.push_back(item.IsNumber() ? item.As<Napi::Number>().Uint32Value() : 0);
    }
  }
  return out;
}

Napi::Value TailToJs(Napi::Env env, const Layout& layout, const std::vector<uint32_t>& elements) {
  if (layout.tail->element == FieldKind::kU8) {
    Napi::Buffer<uint8_t> bytes = Napi::Buffer<uint8_t>::New(env, elements.size());
    for (size_t i = 0; i < elements.size(); i++) bytes[i] = static_cast<uint8_t>(elements[i]);
    return bytes;
  }
  Napi::Array list = Napi::Array::New(env, elements.size());
  for (size_t i = 0; i < elements.size(); i++) list.Set(i, elements[i]);
  return list;
}

static const char* KindName(FieldKind kind) {
  switch (kind) {
    case FieldKind::kU8:
      return "u8";
    case FieldKind::kU16:
      return "u16";
    case FieldKind::kU32:
      return "u32";
    case FieldKind::kI32:
      return "i32";
    case FieldKind::kU64:
      return "u64";
    case FieldKind::kBe16:
      return "u16";  // byte order is the encoder's business; the range is a u16's
    case FieldKind::kBe32:
      return "u32";
    case FieldKind::kAddress:
      return "address";
  }
  return "unknown";
}

Napi::Object OptionLayoutsToJs(Napi::Env env) {
  size_t count;
  const SocketOption* options = OptionTable(&count);
  Napi::Object all = Napi::Object::New(env);
  for (size_t i = 0; i < count; i++) {
    const Layout& layout = options[i].layout;
    Napi::Array fields = Napi::Array::New(env, layout.field_count);
    for (size_t k = 0; k < layout.field_count; k++) {
      Napi::Object field = Napi::Object::New(env);
      field.Set("name", layout.fields[k].name);
      field.Set("kind", KindName(layout.fields[k].kind));
      fields.Set(k, field);
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("size", static_cast<double>(layout.size));
    o.Set("fields", fields);
    if (layout.tail) {
      Napi::Object tail = Napi::Object::New(env);
      tail.Set("name", layout.tail->name);
      tail.Set("kind", KindName(layout.tail->element));
      tail.Set("max", layout.tail->max);
      o.Set("tail", tail);
    }
    all.Set(options[i].name, o);
  }
  return all;
}

}  // namespace ksctp
