// Control messages both ways: ParseReceiveControl (those of a recvmsg) on arbitrary bytes,
// and against the C library's CMSG_FIRSTHDR/CMSG_NXTHDR walk wherever every entry is well
// formed; OutgoingMessage (those of a send) from arbitrary send parameters.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <vector>

#include "../../native/message.h"
#include "fuzz.h"

using namespace ksctp;

// The reference walk, only for inputs whose every entry lies inside the buffer (glibc does
// not check the first entry's length against msg_controllen).
static bool WellFormed(const uint8_t* data, size_t size) {
  size_t offset = 0;
  while (size - offset >= sizeof(cmsghdr)) {
    cmsghdr h;
    std::memcpy(&h, data + offset, sizeof(h));
    if (h.cmsg_len < sizeof(cmsghdr) || h.cmsg_len > size - offset) return false;
    if (CMSG_ALIGN(h.cmsg_len) > size - offset) return false;
    offset += CMSG_ALIGN(h.cmsg_len);
  }
  return offset == size;
}

static ReceiveControl Reference(const uint8_t* data, size_t size) {
  std::vector<cmsghdr> aligned(size / sizeof(cmsghdr) + 1);
  std::memcpy(aligned.data(), data, size);
  msghdr msg{};
  msg.msg_control = aligned.data();
  msg.msg_controllen = size;
  ReceiveControl r;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != IPPROTO_SCTP) continue;
    if (c->cmsg_type == SCTP_RCVINFO && c->cmsg_len >= CMSG_LEN(sizeof(sctp_rcvinfo))) {
      std::memcpy(&r.info, CMSG_DATA(c), sizeof(r.info));
      r.info.rcv_ppid = ntohl(r.info.rcv_ppid);
      r.has_info = true;
    } else if (c->cmsg_type == SCTP_NXTINFO) {
      r.has_next = true;
      if (c->cmsg_len >= CMSG_LEN(sizeof(sctp_nxtinfo))) {
        std::memcpy(&r.next, CMSG_DATA(c), sizeof(r.next));
      }
    }
  }
  return r;
}

// The other direction: the control data laid out for a send, from any send parameters,
// walks as the C library expects and says what was asked.
static void Outgoing(const uint8_t* data, size_t size) {
  Input in(data, size);
  SendInfo info;
  info.stream = in.Take<uint16_t>();
  info.ppid = in.Take<uint32_t>();
  info.flags = in.Take<uint16_t>();
  info.context = in.Take<uint32_t>();
  info.assoc_id = in.Take<int32_t>();
  info.pr_policy = in.Take<uint16_t>();
  info.pr_value = in.Take<uint32_t>();
  OutgoingMessage m;
  m.Init(data, size, info, nullptr, 0);
  FUZZ_CHECK(m.msg.msg_iov->iov_base == data && m.msg.msg_iov->iov_len == size);
  FUZZ_CHECK(m.msg.msg_controllen <= sizeof(m.control));
  int seen = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&m.msg); c; c = CMSG_NXTHDR(&m.msg, c), seen++) {
    FUZZ_CHECK(c->cmsg_level == IPPROTO_SCTP);
    if (c->cmsg_type == SCTP_SNDINFO) {
      sctp_sndinfo snd;
      std::memcpy(&snd, CMSG_DATA(c), sizeof(snd));
      FUZZ_CHECK(snd.snd_sid == info.stream && ntohl(snd.snd_ppid) == info.ppid);
      FUZZ_CHECK(snd.snd_flags == info.flags && snd.snd_context == info.context);
      FUZZ_CHECK(snd.snd_assoc_id == info.assoc_id);
    } else {
      FUZZ_CHECK(c->cmsg_type == SCTP_PRINFO && info.pr_policy != SCTP_PR_SCTP_NONE);
      sctp_prinfo pr;
      std::memcpy(&pr, CMSG_DATA(c), sizeof(pr));
      FUZZ_CHECK(pr.pr_policy == info.pr_policy && pr.pr_value == info.pr_value);
    }
  }
  FUZZ_CHECK(seen == (info.pr_policy != SCTP_PR_SCTP_NONE ? 2 : 1));
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Outgoing(data, size);
  // An exact-size copy: any read past the end is caught.
  std::vector<uint8_t> copy(data, data + size);
  ReceiveControl r = ParseReceiveControl(copy.data(), copy.size());
  if (!r.has_info) FUZZ_CHECK(r.info.rcv_sid == 0 && r.info.rcv_assoc_id == 0);
  if (WellFormed(data, size)) {
    ReceiveControl ref = Reference(data, size);
    FUZZ_CHECK(ref.has_info == r.has_info && ref.has_next == r.has_next);
    // Both copied the same bytes (padding included) when there was an SCTP_RCVINFO.
    FUZZ_CHECK(!r.has_info || std::memcmp(&ref.info, &r.info, sizeof(r.info)) == 0);
    FUZZ_CHECK(std::memcmp(&ref.next, &r.next, sizeof(r.next)) == 0);
  }
  return 0;
}
