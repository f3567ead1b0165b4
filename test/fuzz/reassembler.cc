// The Reassembler driven by random operation sequences and checked against a model that
// keeps every piece: completed messages equal the model's, nothing completes or is dropped
// without being reported, an eviction is only made when the total needs it and takes a
// message larger than the one arriving, and the bytes held never exceed the cap.
//
// Input: max message size and total cap (u16 each), then operations (an opcode byte and
// its arguments). Associations 0-3, streams 0-3, ordered or not: 32 keys.
#include "../../native/reassembler.h"

#include <map>
#include <memory>
#include <vector>

#include "fuzz.h"

using namespace ksctp;

namespace {

struct ModelMessage {
  std::vector<uint8_t> bytes;
  bool discarding = false;
  size_t where = 0;  // which Reassembler holds it
};

struct Harness {
  std::vector<std::unique_ptr<Reassembler>> sockets;  // [0]: the endpoint; then peeled off
  std::map<int32_t, size_t> moved;                    // association -> its socket
  std::map<uint64_t, ModelMessage> model;             // partial messages
  size_t max_message;
  size_t max_total;
  uint32_t counter = 0;

  size_t SocketOf(int32_t assoc) const {
    auto it = moved.find(assoc);
    return it == moved.end() ? 0 : it->second;
  }

  size_t ModelHeld(size_t where) const {
    size_t held = 0;
    for (const auto& [key, m] : model) {
      if (m.where == where && !m.discarding) held += m.bytes.size();
    }
    return held;
  }

  size_t ModelPending(size_t where, int32_t assoc) const {
    size_t n = 0;
    for (const auto& [key, m] : model) {
      n += m.where == where && (assoc < 0 || Reassembler::AssocOf(key) == assoc);
    }
    return n;
  }

  void CheckTotals() const {
    for (size_t s = 0; s < sockets.size(); s++) {
      FUZZ_CHECK(sockets[s]->HeldBytes() == ModelHeld(s));
      FUZZ_CHECK(sockets[s]->HeldBytes() <= max_total);
      FUZZ_CHECK(sockets[s]->Pending() == ModelPending(s, -1));
    }
  }

  // The largest partial message (not being discarded) on socket `where`, other than `key`.
  size_t LargestOther(size_t where, uint64_t key) const {
    size_t largest = 0;
    for (const auto& [k, m] : model) {
      if (k != key && m.where == where && !m.discarding && m.bytes.size() > largest) {
        largest = m.bytes.size();
      }
    }
    return largest;
  }

  void Add(uint64_t key, size_t length, bool eor) {
    Reassembler& r = *sockets[SocketOf(Reassembler::AssocOf(key))];
    std::vector<uint8_t> piece(length);
    for (auto& b : piece) b = static_cast<uint8_t>(counter++);
    size_t held_before = r.HeldBytes();
    auto result = r.Add(key, piece.data(), piece.size(), eor);

    auto it = model.find(key);
    size_t current = it == model.end() ? 0 : it->second.bytes.size();
    if (it != model.end() && it->second.discarding) {
      FUZZ_CHECK(result == Reassembler::Result::kDiscarded);
      FUZZ_CHECK(r.Evicted().empty());
      if (eor) model.erase(it);
      return;
    }
    FUZZ_CHECK(result != Reassembler::Result::kDiscarded);

    // Evictions: others' partial messages, each larger than this one would become, each
    // one needed to fit this piece under the total.
    size_t freed = 0;
    for (uint64_t victim : r.Evicted()) {
      auto v = model.find(victim);
      FUZZ_CHECK(v != model.end() && victim != key && !v->second.discarding);
      FUZZ_CHECK(v->second.where == SocketOf(Reassembler::AssocOf(key)));
      FUZZ_CHECK(v->second.bytes.size() > current + length);
      FUZZ_CHECK(v->second.bytes.size() == LargestOther(v->second.where, key));  // the largest
      FUZZ_CHECK(held_before - freed + length > max_total);
      freed += v->second.bytes.size();
      v->second.bytes.clear();
      v->second.discarding = true;
    }
    r.Evicted().clear();

    bool fits_message = current + length <= max_message;
    bool fits_total = it == model.end() && eor ? true : held_before - freed + length <= max_total;
    if (!fits_message || !fits_total) {
      FUZZ_CHECK(result == Reassembler::Result::kTooLarge);
      // Refused for the total: only when no other message was larger (it would have gone).
      if (fits_message) {
        FUZZ_CHECK(LargestOther(SocketOf(Reassembler::AssocOf(key)), key) <= current + length);
      }
      if (it != model.end()) {
        if (eor) {
          model.erase(it);
        } else {
          it->second.bytes.clear();
          it->second.discarding = true;
        }
      } else if (!eor) {
        ModelMessage m;
        m.discarding = true;
        m.where = SocketOf(Reassembler::AssocOf(key));
        model[key] = std::move(m);
      }
      return;
    }
    if (it == model.end()) {
      ModelMessage m;
      m.where = SocketOf(Reassembler::AssocOf(key));
      it = model.emplace(key, std::move(m)).first;
    }
    it->second.bytes.insert(it->second.bytes.end(), piece.begin(), piece.end());
    if (!eor) {
      FUZZ_CHECK(result == Reassembler::Result::kPartial);
      return;
    }
    FUZZ_CHECK(result == Reassembler::Result::kComplete);
    FUZZ_CHECK(r.Size() == it->second.bytes.size());
    FUZZ_CHECK(r.Size() == 0 || std::memcmp(r.Data(), it->second.bytes.data(), r.Size()) == 0);
    model.erase(it);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  Harness h;
  h.max_message = in.Take<uint16_t>() % 4096 + 1;
  h.max_total = in.Take<uint16_t>() % 8192 + 1;
  h.sockets.push_back(std::make_unique<Reassembler>(h.max_message, h.max_total));
  for (int steps = 0; !in.Empty() && steps < 500; steps++) {
    uint8_t op = in.Take<uint8_t>();
    uint8_t arg = in.Take<uint8_t>();
    uint64_t key = Reassembler::Key(arg >> 5 & 3, arg & 3, (arg & 4) != 0);
    int32_t assoc = Reassembler::AssocOf(key);
    Reassembler& r = *h.sockets[h.SocketOf(assoc)];
    switch (op % 8) {
      case 0:
      case 1:
      case 2:  // a piece of up to 255 bytes; the top bit of arg ends the message
        h.Add(key, in.Take<uint8_t>(), (arg & 0x80) != 0);
        break;
      case 3:  // a piece of up to 8 KiB (twice the largest message size)
        h.Add(key, in.Take<uint16_t>() % 8192, (arg & 0x80) != 0);
        break;
      case 4: {  // a partial delivery aborted
        bool had = h.model.count(key) && h.model[key].where == h.SocketOf(assoc);
        FUZZ_CHECK(r.Drop(key) == had);
        if (had) h.model.erase(key);
        break;
      }
      case 5: {  // the association ended
        size_t expected = h.ModelPending(h.SocketOf(assoc), assoc);
        FUZZ_CHECK(r.PendingOf(assoc) == expected);
        FUZZ_CHECK(r.DropAssociation(assoc) == expected);
        for (auto it = h.model.begin(); it != h.model.end();) {
          it = Reassembler::AssocOf(it->first) == assoc ? h.model.erase(it) : std::next(it);
        }
        break;
      }
      case 6: {  // peeled off to a new socket of its own (once)
        if (h.moved.count(assoc)) break;
        h.sockets.push_back(std::make_unique<Reassembler>(h.max_message, h.max_total));
        size_t to = h.sockets.size() - 1;
        h.sockets[0]->MoveAssociation(assoc, h.sockets[to].get());
        h.moved[assoc] = to;
        for (auto& [k, m] : h.model) {
          if (Reassembler::AssocOf(k) == assoc) m.where = to;
        }
        break;
      }
      case 7:
        r.Consume();
        FUZZ_CHECK(r.Size() == 0 && r.Data() == nullptr);
        break;
    }
    h.CheckTotals();
  }
  return 0;
}
