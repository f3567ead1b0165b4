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
// {NAME: {size, fields: [{name, kind}]}} for every socket option in the table.
Napi::Object OptionLayoutsToJs(Napi::Env env);

}  // namespace ksctp
