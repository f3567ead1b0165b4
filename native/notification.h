// Kernel notifications (RFC 6458 section 6) -> plain data. No N-API in here: the parser is
// unit-tested and fuzzed on its own (test/native/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "layout.h"

namespace ksctp {

struct Notification {
  uint16_t type = 0;
  const char* name = nullptr;  // e.g. "assoc_change"; nullptr for a type we do not know
  uint16_t flags = 0;
  std::vector<Value> fields;
  // Variable-length data after the fixed structure (sac_info, sre_data, ssf_data, a stream
  // list), or the whole notification when its type is unknown.
  size_t extra_offset = 0;
  size_t extra_length = 0;
  // STREAM_RESET_EVENT: the streams that were reset (strreset_stream_list, host byte order),
  // decoded here so that no byte layout is read outside native code. Empty means all.
  std::vector<uint16_t> streams;
};

// The largest notification accepted when reassembling one. The kernel's largest carry one
// chunk (an ABORT's causes in ASSOC_CHANGE, a DATA chunk in SEND_FAILED, at most 64 KiB) or a
// stream list (at most 128 KiB); anything larger is reported as malformed.
constexpr size_t kMaxNotificationSize = 1024 * 1024;

// Parses one complete notification of `length` bytes. Returns false when it is shorter than
// its header or than the fixed part of its type (the caller reports it as malformed).
// sn_length is trusted only as far as `length` allows.
bool ParseNotification(const uint8_t* data, size_t length, Notification* out);

// The SCTP_EVENT types this library subscribes to, in the order of sctp_event_subscribe.
extern const uint16_t kSubscribedEvents[];
extern const size_t kSubscribedEventCount;

}  // namespace ksctp
