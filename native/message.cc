#include "message.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace ksctp {

void OutgoingMessage::Init(const void* data, size_t length, const SendInfo& info,
                           const sockaddr* to, socklen_t to_length) {
  iov = {const_cast<void*>(data), length};
  msg.msg_name = const_cast<sockaddr*>(to);
  msg.msg_namelen = to ? to_length : 0;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = CMSG_SPACE(sizeof(sctp_sndinfo));

  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = IPPROTO_SCTP;
  cmsg->cmsg_type = SCTP_SNDINFO;
  cmsg->cmsg_len = CMSG_LEN(sizeof(sctp_sndinfo));
  sctp_sndinfo snd{};
  snd.snd_sid = info.stream;
  snd.snd_flags = info.flags;
  snd.snd_ppid = htonl(info.ppid);
  snd.snd_context = info.context;
  snd.snd_assoc_id = info.assoc_id;
  std::memcpy(CMSG_DATA(cmsg), &snd, sizeof(snd));

  if (info.pr_policy != SCTP_PR_SCTP_NONE) {
    msg.msg_controllen += CMSG_SPACE(sizeof(sctp_prinfo));
    cmsg = CMSG_NXTHDR(&msg, cmsg);
    cmsg->cmsg_level = IPPROTO_SCTP;
    cmsg->cmsg_type = SCTP_PRINFO;
    cmsg->cmsg_len = CMSG_LEN(sizeof(sctp_prinfo));
    sctp_prinfo pr{};
    pr.pr_policy = info.pr_policy;
    pr.pr_value = info.pr_value;
    std::memcpy(CMSG_DATA(cmsg), &pr, sizeof(pr));
  }
}

ssize_t SendMessage(int fd, const void* data, size_t length, const SendInfo& info,
                    const sockaddr* to, socklen_t to_length) {
  OutgoingMessage m;
  m.Init(data, length, info, to, to_length);
  ssize_t n;
  do {
    n = sendmsg(fd, &m.msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

int SendMessages(int fd, const SendInfo* infos, const iovec* data, size_t count) {
  std::unique_ptr<OutgoingMessage[]> messages(new OutgoingMessage[count]);
  std::vector<mmsghdr> headers(count);
  for (size_t i = 0; i < count; i++) {
    messages[i].Init(data[i].iov_base, data[i].iov_len, infos[i], nullptr, 0);
    headers[i].msg_hdr = messages[i].msg;
  }
  int n;
  do {
    n = sendmmsg(fd, headers.data(), static_cast<unsigned>(count), MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : n;
}

Received ReceiveMessage(int fd, uint8_t* buffer, size_t capacity) {
  alignas(cmsghdr)
      uint8_t control[CMSG_SPACE(sizeof(sctp_rcvinfo)) + CMSG_SPACE(sizeof(sctp_nxtinfo)) + 64];
  iovec iov{buffer, capacity};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);

  Received r{};
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    r.length = -errno;
    return r;
  }
  // Under MSG_CTRUNC the kernel copies what fits; the walk stops at the cut entry.
  static_cast<ReceiveControl&>(r) = ParseReceiveControl(control, msg.msg_controllen);
  r.length = n;
  r.flags = msg.msg_flags;
  return r;
}

ReceiveControl ParseReceiveControl(const uint8_t* control, size_t length) {
  ReceiveControl r;
  size_t offset = 0;
  while (length - offset >= sizeof(cmsghdr)) {
    cmsghdr header;
    std::memcpy(&header, control + offset, sizeof(header));
    if (header.cmsg_len < sizeof(cmsghdr) || header.cmsg_len > length - offset) break;
    static_assert(CMSG_LEN(0) == sizeof(cmsghdr), "the data follows the header directly");
    const uint8_t* data = control + offset + CMSG_LEN(0);
    size_t data_length = header.cmsg_len - CMSG_LEN(0);
    if (header.cmsg_level == IPPROTO_SCTP) {
      if (header.cmsg_type == SCTP_RCVINFO && data_length >= sizeof(sctp_rcvinfo)) {
        std::memcpy(&r.info, data, sizeof(r.info));
        r.info.rcv_ppid = ntohl(r.info.rcv_ppid);
        r.has_info = true;
      } else if (header.cmsg_type == SCTP_NXTINFO) {
        r.has_next = true;
        if (data_length >= sizeof(sctp_nxtinfo)) std::memcpy(&r.next, data, sizeof(r.next));
      }
    }
    size_t step = CMSG_ALIGN(header.cmsg_len);
    if (step > length - offset) break;
    offset += step;
  }
  return r;
}

}  // namespace ksctp
