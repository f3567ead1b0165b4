#include "reassembler.h"

#include <new>

namespace ksctp {

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
