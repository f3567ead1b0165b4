// The kernel calls that differ between kernel versions, with their fallbacks, as plain
// functions on an fd: a result, or -errno. No N-API in here, so each can be called (and its
// fallback path exercised) without JavaScript.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sockaddr.h"

namespace ksctp {

// sctp_bindx: adds (or removes) local addresses. With port 0 and several addresses, the
// first bind picks the ephemeral port and the others use it. 0 or -errno.
int BindAddresses(int fd, int family, std::vector<std::string> hosts, uint16_t port, bool remove);

struct ConnectResult {
  int error;         // 0, or an errno (EINPROGRESS on a non-blocking socket)
  int32_t assoc_id;  // the new association, even while its setup is in progress
};

// sctp_connectx: SCTP_SOCKOPT_CONNECTX3 (returns the association id), or on kernels before
// 2.6.26 the plain SCTP_SOCKOPT_CONNECTX.
ConnectResult ConnectAddresses(int fd, int family, const std::vector<std::string>& hosts,
                               uint16_t port);

// sctp_peeloff: the new fd (non-blocking, close-on-exec) or -errno. PEELOFF_FLAGS (4.13+),
// else plain PEELOFF and the flags set by hand.
int PeelOff(int fd, int32_t assoc_id);

// Turns on SCTP_RCVINFO, SCTP_NXTINFO where the kernel has it (`*knows_next`), and the
// notifications in kSubscribedEvents (plus SENDER_DRY when asked): SCTP_EVENT per type
// (5.0+), else SCTP_EVENTS with its size probed (the structure grew over time). 0 or -errno.
int SubscribeEvents(int fd, bool sender_dry, bool* knows_next);

// An accepted (or peeled-off) socket: the kernel copied the listener's socket options onto
// it (sctp_sock_migrate), subscriptions included. Reads whether SCTP_NXTINFO is on. 0 or -errno.
int InheritedNextInfo(int fd, bool* knows_next);

struct StreamCounts {
  int32_t assoc_id;
  uint16_t outbound;
  uint16_t inbound;
};

// SCTP_STATUS of a one-to-one socket's association, only what the socket keeps of it (the
// full structure is getOption's). 0 or -errno.
int ReadStreamCounts(int fd, StreamCounts* out);

// SCTP_GET_PEER_ADDRS / SCTP_GET_LOCAL_ADDRS, the buffer grown until the list fits.
// 0 or -errno.
int ReadAddresses(int fd, bool peer, int32_t assoc_id, std::vector<Address>* out);

}  // namespace ksctp
