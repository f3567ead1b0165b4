#include "message.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <new>

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

  if (info.ttl_ms > 0) {
    msg.msg_controllen += CMSG_SPACE(sizeof(sctp_prinfo));
    cmsg = CMSG_NXTHDR(&msg, cmsg);
    cmsg->cmsg_level = IPPROTO_SCTP;
    cmsg->cmsg_type = SCTP_PRINFO;
    cmsg->cmsg_len = CMSG_LEN(sizeof(sctp_prinfo));
    sctp_prinfo pr{};
    pr.pr_policy = SCTP_PR_SCTP_TTL;
    pr.pr_value = info.ttl_ms;
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
  r.length = n;
  r.flags = msg.msg_flags;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == IPPROTO_SCTP && c->cmsg_type == SCTP_RCVINFO &&
        c->cmsg_len >= CMSG_LEN(sizeof(sctp_rcvinfo))) {
      std::memcpy(&r.info, CMSG_DATA(c), sizeof(r.info));
      r.info.rcv_ppid = ntohl(r.info.rcv_ppid);
      r.has_info = true;
    } else if (c->cmsg_level == IPPROTO_SCTP && c->cmsg_type == SCTP_NXTINFO) {
      r.has_next = true;
    }
  }
  return r;
}

void Reassembler::Release(Partial& p) {
  held_ -= p.bytes.size();
  std::vector<uint8_t>().swap(p.bytes);
}

Reassembler::Result Reassembler::Add(uint64_t key, const uint8_t* data, size_t length,
                                     bool end_of_record) {
  complete_data_ = nullptr;
  complete_size_ = 0;
  auto it = partial_.find(key);
  if (it == partial_.end()) {
    if (end_of_record) {
      if (length > max_) return Result::kTooLarge;
      complete_data_ = data;  // the common case: a whole message in one read, no copy
      complete_size_ = length;
      return Result::kComplete;
    }
    it = partial_.emplace(key, Partial{}).first;
  }
  Partial& p = it->second;
  if (p.discarding) {
    if (end_of_record) partial_.erase(it);
    return Result::kDiscarded;
  }
  bool fits = p.bytes.size() + length <= max_;
  // Over the total, the largest partial message goes (the one most likely to be a peer's
  // attempt to take the memory), not whichever piece happened to arrive last.
  while (fits && held_ + length > max_total_) {
    auto largest = partial_.end();
    for (auto i = partial_.begin(); i != partial_.end(); ++i) {
      if (largest == partial_.end() || i->second.bytes.size() > largest->second.bytes.size()) {
        largest = i;
      }
    }
    if (largest == it || largest->second.bytes.size() <= p.bytes.size() + length) {
      fits = false;  // this message is the largest: it is the one that goes
      break;
    }
    Release(largest->second);
    largest->second.discarding = true;
    evicted_.push_back(largest->first);
  }
  if (fits) {
    try {
      p.bytes.insert(p.bytes.end(), data, data + length);
      held_ += length;
    } catch (const std::bad_alloc&) {
      fits = false;  // the memory a peer asked for is not there: this message is dropped
    }
  }
  if (!fits) {
    Release(p);
    if (end_of_record) {
      partial_.erase(it);
    } else {
      p.discarding = true;
    }
    return Result::kTooLarge;
  }
  if (!end_of_record) return Result::kPartial;
  held_ -= p.bytes.size();
  done_ = std::move(p.bytes);
  partial_.erase(it);
  complete_data_ = done_.data();
  complete_size_ = done_.size();
  return Result::kComplete;
}

void Reassembler::Consume() {
  complete_data_ = nullptr;
  complete_size_ = 0;
  std::vector<uint8_t>().swap(done_);
}

bool Reassembler::Drop(uint64_t key) {
  auto it = partial_.find(key);
  if (it == partial_.end()) return false;
  Release(it->second);
  partial_.erase(it);
  return true;
}

size_t Reassembler::DropAssociation(int32_t assoc_id) {
  size_t dropped = 0;
  for (auto it = partial_.begin(); it != partial_.end();) {
    if (AssocOf(it->first) == assoc_id) {
      Release(it->second);
      it = partial_.erase(it);
      dropped++;
    } else {
      ++it;
    }
  }
  return dropped;
}

void Reassembler::MoveAssociation(int32_t assoc_id, Reassembler* to) {
  for (auto it = partial_.begin(); it != partial_.end();) {
    if (AssocOf(it->first) != assoc_id) {
      ++it;
      continue;
    }
    held_ -= it->second.bytes.size();
    Partial& target = to->partial_[it->first];  // new: a key is on one socket at a time
    to->held_ += it->second.bytes.size() - target.bytes.size();
    target = std::move(it->second);
    it = partial_.erase(it);
  }
}

size_t Reassembler::PendingOf(int32_t assoc_id) const {
  size_t n = 0;
  for (const auto& entry : partial_) n += AssocOf(entry.first) == assoc_id;
  return n;
}

}  // namespace ksctp
