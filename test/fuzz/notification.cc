// ParseNotification on arbitrary bytes: what the kernel (or a peer, through the causes and
// chunks a notification quotes) puts in a notification.
#include "../../native/notification.h"

#include "../../native/linux_sctp.h"
#include "fuzz.h"

using namespace ksctp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Notification n;
  if (!ParseNotification(data, size, &n)) return 0;
  FUZZ_CHECK(size >= 8);
  // Nothing past the shorter of the input and the length the notification declares.
  uint32_t declared;
  std::memcpy(&declared, data + 4, sizeof(declared));
  size_t end = declared < size ? declared : size;
  FUZZ_CHECK(n.extra_offset <= end && n.extra_length <= end - n.extra_offset);
  if (n.name == nullptr) {
    FUZZ_CHECK(n.fields.empty() && n.extra_offset == 0);  // unknown: passed through raw
  } else {
    FUZZ_CHECK(!n.fields.empty());
  }
  for (const Value& v : n.fields) {
    if (v.is_address) FUZZ_CHECK(v.address.family == 0 || !v.address.host.empty());
  }
  if (n.type == SCTP_STREAM_RESET_EVENT && n.name) {
    FUZZ_CHECK(n.extra_length == 0);
    FUZZ_CHECK(n.extra_offset + n.streams.size() * 2 <= end);
  } else {
    FUZZ_CHECK(n.streams.empty());
  }
  return 0;
}
