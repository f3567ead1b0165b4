#include "kernel.h"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "linux_sctp.h"
#include "notification.h"

namespace ksctp {

int BindAddresses(int fd, int family, std::vector<std::string> hosts, uint16_t port, bool remove) {
  if (hosts.empty()) return -EINVAL;
  int optname = remove ? SCTP_SOCKOPT_BINDX_REM : SCTP_SOCKOPT_BINDX_ADD;
  std::vector<uint8_t> packed;
  if (!remove && port == 0 && hosts.size() > 1) {
    // An ephemeral port is chosen by the first bind; the others must use the same one.
    if (!PackAddresses({hosts[0]}, 0, family, &packed)) return -EAFNOSUPPORT;
    if (setsockopt(fd, IPPROTO_SCTP, optname, packed.data(), packed.size()) < 0) return -errno;
    sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) < 0) return -errno;
    Address bound;
    FromSockaddr(&ss, len, &bound);
    port = bound.port;
    hosts.erase(hosts.begin());
  }
  if (!PackAddresses(hosts, port, family, &packed)) return -EAFNOSUPPORT;
  if (setsockopt(fd, IPPROTO_SCTP, optname, packed.data(), packed.size()) < 0) return -errno;
  return 0;
}

ConnectResult ConnectAddresses(int fd, int family, const std::vector<std::string>& hosts,
                               uint16_t port) {
  std::vector<uint8_t> packed;
  if (hosts.empty()) return {EINVAL, 0};
  if (!PackAddresses(hosts, port, family, &packed)) return {EAFNOSUPPORT, 0};
  // SCTP_SOCKOPT_CONNECTX3 is a getsockopt so that the kernel can return the association
  // id, even when the connect is still in progress.
  sctp_getaddrs_old param{};
  param.assoc_id = 0;
  param.addr_num = static_cast<int>(packed.size());
  param.addrs = reinterpret_cast<sockaddr*>(packed.data());
  socklen_t len = sizeof(param);
  int rc = getsockopt(fd, IPPROTO_SCTP, SCTP_SOCKOPT_CONNECTX3, &param, &len);
  int err = rc < 0 ? errno : 0;
  if (err == ENOPROTOOPT) {
    rc = setsockopt(fd, IPPROTO_SCTP, SCTP_SOCKOPT_CONNECTX, packed.data(), packed.size());
    err = rc < 0 ? errno : 0;
    param.assoc_id = rc > 0 ? rc : 0;
  }
  return {err, param.assoc_id};
}

int PeelOff(int fd, int32_t assoc_id) {
  sctp_peeloff_flags_arg_t flags{};
  flags.p_arg.associd = assoc_id;
  flags.flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
  socklen_t len = sizeof(flags);
  // The kernel returns the new fd (not 0) on success, and also stores it in the argument.
  if (getsockopt(fd, IPPROTO_SCTP, SCTP_SOCKOPT_PEELOFF_FLAGS, &flags, &len) >= 0) {
    return flags.p_arg.sd;
  }
  if (errno != ENOPROTOOPT && errno != EINVAL) return -errno;
  sctp_peeloff_arg_t arg{};
  arg.associd = assoc_id;
  len = sizeof(arg);
  if (getsockopt(fd, IPPROTO_SCTP, SCTP_SOCKOPT_PEELOFF, &arg, &len) < 0) return -errno;
  fcntl(arg.sd, F_SETFL, fcntl(arg.sd, F_GETFL) | O_NONBLOCK);
  fcntl(arg.sd, F_SETFD, FD_CLOEXEC);
  return arg.sd;
}

int SubscribeEvents(int fd, bool sender_dry, bool* knows_next) {
  int on = 1;
  if (setsockopt(fd, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on)) < 0) return -errno;
  // With SCTP_NXTINFO each read says whether more is queued, which spares the read that
  // would only return EAGAIN (one syscall per wake-up). Without it, reads go to EAGAIN.
  *knows_next = setsockopt(fd, IPPROTO_SCTP, SCTP_RECVNXTINFO, &on, sizeof(on)) == 0;
  bool per_event = true;
  for (size_t i = 0; i <= kSubscribedEventCount; i++) {
    if (i == kSubscribedEventCount && !sender_dry) break;
    sctp_event e{};
    e.se_assoc_id = SCTP_FUTURE_ASSOC;
    e.se_type = i < kSubscribedEventCount ? kSubscribedEvents[i]
                                          : static_cast<uint16_t>(SCTP_SENDER_DRY_EVENT);
    e.se_on = 1;
    if (setsockopt(fd, IPPROTO_SCTP, SCTP_EVENT, &e, sizeof(e)) < 0) {
      if (errno == ENOPROTOOPT) {
        per_event = false;
        break;
      }
      // A type this kernel does not know: skip it, keep the others.
    }
  }
  if (per_event) return 0;
  sctp_event_subscribe all;
  std::memset(&all, 1, sizeof(all));
  all.sctp_data_io_event = 0;              // SCTP_RCVINFO replaces it
  all.sctp_sender_dry_event = sender_dry;  // opt-in, see kSubscribedEvents
  for (size_t size = sizeof(all); size >= 10; size--) {
    if (setsockopt(fd, IPPROTO_SCTP, SCTP_EVENTS, &all, static_cast<socklen_t>(size)) == 0) {
      return 0;
    }
    if (errno != EINVAL) break;
  }
  return -errno;
}

int InheritedNextInfo(int fd, bool* knows_next) {
  int on = 0;
  socklen_t len = sizeof(on);
  if (getsockopt(fd, IPPROTO_SCTP, SCTP_RECVNXTINFO, &on, &len) < 0) {
    *knows_next = false;
    return errno == ENOPROTOOPT ? 0 : -errno;
  }
  *knows_next = on != 0;
  return 0;
}

int ReadStreamCounts(int fd, StreamCounts* out) {
  sctp_status status{};
  socklen_t len = sizeof(status);
  if (getsockopt(fd, IPPROTO_SCTP, SCTP_STATUS, &status, &len) < 0) return -errno;
  *out = {status.sstat_assoc_id, status.sstat_outstrms, status.sstat_instrms};
  return 0;
}

int ReadAddresses(int fd, bool peer, int32_t assoc_id, std::vector<Address>* out) {
  // The kernel fails with ENOMEM when the list does not fit: grow and ask again.
  for (size_t size = 4096; size <= (1u << 24); size *= 4) {
    std::vector<uint8_t> buffer(size, 0);
    auto* param = reinterpret_cast<sctp_getaddrs*>(buffer.data());
    param->assoc_id = assoc_id;
    socklen_t len = static_cast<socklen_t>(size);
    int rc = getsockopt(fd, IPPROTO_SCTP, peer ? SCTP_GET_PEER_ADDRS : SCTP_GET_LOCAL_ADDRS,
                        buffer.data(), &len);
    if (rc < 0 && errno == ENOMEM) continue;
    if (rc < 0) return -errno;
    // The returned length is not usable: for local addresses the kernel leaves the header
    // out of it, for peer addresses it counts it. addr_num and the buffer bound the walk.
    size_t header = offsetof(sctp_getaddrs, addrs);
    *out = UnpackAddresses(buffer.data() + header, size - header, param->addr_num);
    return 0;
  }
  return -ENOMEM;
}

}  // namespace ksctp
