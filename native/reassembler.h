// Reassembly of messages that arrive in pieces (messages larger than one read, or delivered
// partially by the kernel). No N-API and no syscalls in here: fuzzed against a model.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace ksctp {

// Collects the pieces of messages larger than one read (or delivered partially by the
// kernel), keyed by association, stream and ordering. Bounded twice: one message may not
// exceed the maximum message size, and all partial messages together may not exceed the
// total (many peers each sending half a message must not add up without limit); at the
// total, the largest partial message is discarded. A piece that completes a message with
// nothing buffered before it is not copied.
class Reassembler {
 public:
  enum class Result {
    kComplete,   // Data()/Size() hold a whole message until the next Add or Consume
    kPartial,    // buffered, waiting for more
    kTooLarge,   // this message exceeds a bound; its pieces are being discarded
    kDiscarded,  // another piece of a message that was too large (already reported)
  };

  // The key of a message being reassembled.
  static uint64_t Key(int32_t assoc_id, uint16_t stream, bool unordered) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(assoc_id)) << 32) |
           (unordered ? 1u << 16 : 0u) | stream;
  }
  static int32_t AssocOf(uint64_t key) { return static_cast<int32_t>(key >> 32); }

  Reassembler(size_t max_message_size, size_t max_total)
      : max_(max_message_size), max_total_(max_total) {}
  void SetMaxMessageSize(size_t max) { max_ = max; }
  void SetMaxTotal(size_t max) { max_total_ = max; }
  size_t MaxMessageSize() const { return max_; }
  size_t MaxTotal() const { return max_total_; }

  Result Add(uint64_t key, const uint8_t* data, size_t length, bool end_of_record);
  const uint8_t* Data() const { return complete_data_; }
  size_t Size() const { return complete_size_; }
  void Consume();
  // Drops one partial message (e.g. after a PARTIAL_DELIVERY abort). Returns true if any.
  bool Drop(uint64_t key);
  // Drops every partial message of an association (it ended, restarted, or its partial
  // delivery was aborted). Returns how many.
  size_t DropAssociation(int32_t assoc_id);
  // Moves an association's partial messages to `to` (the socket it was peeled off to).
  void MoveAssociation(int32_t assoc_id, Reassembler* to);
  // Partial messages of one association, of all, and the bytes they hold.
  size_t PendingOf(int32_t assoc_id) const;
  bool Holds(uint64_t key) const { return partial_.count(key) != 0; }
  size_t Pending() const { return partial_.size(); }
  size_t HeldBytes() const { return held_; }
  // Keys of the partial messages Add discarded to stay within the total (each one is as
  // good as too large: its association must hear of it). Cleared by the caller.
  std::vector<uint64_t>& Evicted() { return evicted_; }

 private:
  struct Partial {
    std::vector<uint8_t> bytes;
    bool discarding = false;
  };
  void Release(Partial& p);
  size_t max_;
  size_t max_total_;
  size_t held_ = 0;  // bytes in partial_
  std::unordered_map<uint64_t, Partial> partial_;
  std::vector<uint64_t> evicted_;
  std::vector<uint8_t> done_;
  const uint8_t* complete_data_ = nullptr;
  size_t complete_size_ = 0;
};

}  // namespace ksctp
