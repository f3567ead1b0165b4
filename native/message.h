// sendmsg/recvmsg with SCTP control messages: the control data laid out for sends, and
// the control messages of a receive parsed (a plain function, fuzzed). No N-API in here.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "linux_sctp.h"

namespace ksctp {

struct SendInfo {
  uint16_t stream = 0;
  uint32_t ppid = 0;   // host byte order; converted to network order on the way out
  uint16_t flags = 0;  // SCTP_UNORDERED, SCTP_EOF, SCTP_ABORT, SCTP_SACK_IMMEDIATELY
  uint32_t context = 0;
  int32_t assoc_id = 0;
  // PR-SCTP (SCTP_PRINFO): SCTP_PR_SCTP_TTL, _RTX or _PRIO, and its value (milliseconds,
  // retransmissions, priority); SCTP_PR_SCTP_NONE sends no SCTP_PRINFO (fully reliable).
  uint16_t pr_policy = SCTP_PR_SCTP_NONE;
  uint32_t pr_value = 0;
};

// A message laid out for sendmsg/sendmmsg: msghdr, iovec and control data (SCTP_SNDINFO,
// and SCTP_PRINFO when it has a PR-SCTP policy) in one place. Not copyable: msg points into itself.
struct OutgoingMessage {
  OutgoingMessage() = default;
  void Init(const void* data, size_t length, const SendInfo& info, const sockaddr* to,
            socklen_t to_length);
  OutgoingMessage(const OutgoingMessage&) = delete;
  OutgoingMessage& operator=(const OutgoingMessage&) = delete;

  msghdr msg{};
  iovec iov{};
  alignas(cmsghdr)
      uint8_t control[CMSG_SPACE(sizeof(sctp_sndinfo)) + CMSG_SPACE(sizeof(sctp_prinfo))]{};
};

// Sends one message. Returns the bytes sent or -errno (never raises SIGPIPE).
ssize_t SendMessage(int fd, const void* data, size_t length, const SendInfo& info,
                    const sockaddr* to, socklen_t to_length);

// Sends up to `count` messages in one sendmmsg call. Returns how many went (fewer when the
// send buffer filled up), or -errno when the first could not.
int SendMessages(int fd, const SendInfo* infos, const iovec* data, size_t count);

// What the control messages of one recvmsg said.
struct ReceiveControl {
  bool has_info = false;
  sctp_rcvinfo info{};    // valid when has_info; rcv_ppid already in host byte order
  bool has_next = false;  // SCTP_NXTINFO came with it: another message or notification is queued
  // What SCTP_NXTINFO said of it (zero when the entry was truncated); nxt_length is the bytes
  // the kernel has of it so far.
  sctp_nxtinfo next{};
};

// Walks the control messages of a recvmsg (`length` is the msg_controllen the kernel
// returned). An entry shorter than its header, or one that claims more bytes than are
// left, ends the walk; a truncated SCTP_RCVINFO is ignored.
ReceiveControl ParseReceiveControl(const uint8_t* control, size_t length);

struct Received : ReceiveControl {
  ssize_t length = 0;  // bytes read, 0 at end of stream, or -errno
  int flags = 0;       // msg_flags: MSG_EOR, MSG_NOTIFICATION, ...
};

// Reads once (non-blocking socket) into `buffer`.
Received ReceiveMessage(int fd, uint8_t* buffer, size_t capacity);

}  // namespace ksctp
