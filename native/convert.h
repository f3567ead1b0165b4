// Values between JavaScript and the native layer's plain data: addresses, decoded fields,
// notifications, option input, and the layouts TypeScript validates option values against.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "layout.h"
#include "notification.h"
#include "sockaddr.h"

namespace ksctp {

Napi::Object AddressToJs(Napi::Env env, const Address& a);
// Sets each decoded field on `into` (a number, or an address object).
Napi::Object ValuesToJs(Napi::Env env, const std::vector<Value>& values, Napi::Object into);
// A parsed notification (or, when !ok, {type: 'malformed', typeCode, data}).
Napi::Object NotificationToJs(Napi::Env env, const Notification& n, bool ok, const uint8_t* data,
                              size_t length);
// A notification larger than `limit` bytes (kMaxNotificationSize): reported, never dropped.
Napi::Object OversizedNotificationToJs(Napi::Env env, size_t limit);
// The strings of a JavaScript array (other elements skipped).
std::vector<std::string> StringArray(const Napi::Value& v);
// Fills `buffer` (layout.size bytes) from the fields present in `input`. TypeScript has
// checked names, types and ranges; a value that is still not a finite number is skipped.
void EncodeInput(const Layout& layout, int family, Napi::Object input, uint8_t* buffer);
// The list `input` gives for the layout's tail: a Uint8Array's bytes or an array's numbers
// (others as 0), at most tail.max of them. Empty without a tail.
std::vector<uint32_t> TailFromJs(const Layout& layout, Napi::Object input);
// A decoded tail as JavaScript: a Buffer of u8 elements, an array of u16 ones.
Napi::Value TailToJs(Napi::Env env, const Layout& layout, const std::vector<uint32_t>& elements);
// {NAME: {size, fields: [{name, kind}], tail?: {name, kind, max}}} for every socket option.
Napi::Object OptionLayoutsToJs(Napi::Env env);

}  // namespace ksctp
