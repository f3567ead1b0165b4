// Unit and fuzz tests for the parsers of kernel bytes (no N-API, no kernel needed):
// notifications, packed address lists and the message reassembler. Built with
// AddressSanitizer and UndefinedBehaviorSanitizer by scripts/build-native-tests; any
// out-of-bounds read aborts the run. Prints "ok N checks" and exits 0 on success.
#include <arpa/inet.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "../../native/linux_sctp.h"
#include "../../native/message.h"
#include "../../native/notification.h"
#include "../../native/reassembler.h"
#include "../../native/sockaddr.h"

static int checks = 0;
static int failures = 0;
#define CHECK(cond)                                                                 \
  do {                                                                              \
    checks++;                                                                       \
    if (!(cond)) {                                                                  \
      failures++;                                                                   \
      std::fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
    }                                                                               \
  } while (0)

using namespace ksctp;

static int64_t NumberField(const Notification& n, const char* name) {
  for (const auto& v : n.fields) {
    if (std::strcmp(v.name, name) == 0) return v.number;
  }
  std::fprintf(stderr, "no field %s\n", name);
  failures++;
  return -1;
}

static const Value* AddressField(const Notification& n, const char* name) {
  for (const auto& v : n.fields) {
    if (std::strcmp(v.name, name) == 0 && v.is_address) return &v;
  }
  return nullptr;
}

static void AssocChange() {
  std::vector<uint8_t> buf(sizeof(sctp_assoc_change) + 4, 0);
  sctp_assoc_change ac{};
  ac.sac_type = SCTP_ASSOC_CHANGE;
  ac.sac_length = static_cast<uint32_t>(buf.size());
  ac.sac_state = SCTP_COMM_UP;
  ac.sac_outbound_streams = 10;
  ac.sac_inbound_streams = 7;
  ac.sac_assoc_id = 12345;
  std::memcpy(buf.data(), &ac, sizeof(ac));
  std::memcpy(buf.data() + sizeof(ac), "\x01\x02\x03\x04", 4);
  Notification n;
  CHECK(ParseNotification(buf.data(), buf.size(), &n));
  CHECK(n.name && std::string(n.name) == "assoc_change");
  CHECK(NumberField(n, "state") == SCTP_COMM_UP);
  CHECK(NumberField(n, "outboundStreams") == 10);
  CHECK(NumberField(n, "inboundStreams") == 7);
  CHECK(NumberField(n, "assocId") == 12345);
  CHECK(n.extra_offset == sizeof(ac) && n.extra_length == 4);
  // Shorter than the fixed structure: refused, not read past the end.
  for (size_t len = 0; len < sizeof(ac); len++) {
    std::vector<uint8_t> cut(buf.begin(), buf.begin() + len);
    CHECK(!ParseNotification(cut.data(), cut.size(), &n) || len >= sizeof(ac));
  }
}

static void PeerAddrChangeIPv6() {
  sctp_paddr_change pc{};
  pc.spc_type = SCTP_PEER_ADDR_CHANGE;
  pc.spc_length = sizeof(pc);
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&pc.spc_aaddr);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(3868);
  inet_pton(AF_INET6, "2001:db8::7", &sin6->sin6_addr);
  pc.spc_state = SCTP_ADDR_UNREACHABLE;
  pc.spc_error = 0;
  pc.spc_assoc_id = 9;
  Notification n;
  CHECK(ParseNotification(reinterpret_cast<uint8_t*>(&pc), sizeof(pc), &n));
  CHECK(std::string(n.name) == "peer_addr_change");
  const Value* a = AddressField(n, "address");
  CHECK(a && a->address.host == "2001:db8::7" && a->address.port == 3868 &&
        a->address.family == AF_INET6);
  CHECK(NumberField(n, "state") == SCTP_ADDR_UNREACHABLE);
  CHECK(NumberField(n, "assocId") == 9);

  // A v4-mapped address is reported as IPv4.
  inet_pton(AF_INET6, "::ffff:192.0.2.1", &sin6->sin6_addr);
  CHECK(ParseNotification(reinterpret_cast<uint8_t*>(&pc), sizeof(pc), &n));
  a = AddressField(n, "address");
  CHECK(a && a->address.host == "192.0.2.1" && a->address.family == AF_INET);
}

static void SendFailedPpidAndRemoteError() {
  std::vector<uint8_t> buf(sizeof(sctp_send_failed_event) + 3, 0);
  sctp_send_failed_event sf{};
  sf.ssf_type = SCTP_SEND_FAILED_EVENT;
  sf.ssf_flags = SCTP_DATA_UNSENT;
  sf.ssf_length = static_cast<uint32_t>(buf.size());
  sf.ssfe_info.snd_sid = 3;
  sf.ssfe_info.snd_ppid = htonl(46);  // the kernel keeps what was sent: network order
  sf.ssfe_info.snd_context = 777;
  std::memcpy(buf.data(), &sf, sizeof(sf));
  Notification n;
  CHECK(ParseNotification(buf.data(), buf.size(), &n));
  CHECK(std::string(n.name) == "send_failed_event");
  CHECK(NumberField(n, "ppid") == 46);
  CHECK(NumberField(n, "stream") == 3);
  CHECK(NumberField(n, "context") == 777);
  CHECK(n.extra_length == 3);

  sctp_remote_error re{};
  re.sre_type = SCTP_REMOTE_ERROR;
  re.sre_length = sizeof(re);
  re.sre_error = htons(0x0102);
  CHECK(ParseNotification(reinterpret_cast<uint8_t*>(&re), sizeof(re), &n));
  CHECK(NumberField(n, "error") == 0x0102);
}

static void UnknownAndLengths() {
  uint8_t raw[16] = {0};
  uint16_t type = 0x8fff;
  uint32_t len = 16;
  std::memcpy(raw, &type, 2);
  std::memcpy(raw + 4, &len, 4);
  Notification n;
  CHECK(ParseNotification(raw, sizeof(raw), &n));
  CHECK(n.name == nullptr && n.type == 0x8fff && n.extra_offset == 0 && n.extra_length == 16);
  // sn_length larger than what arrived: only the bytes present are used.
  len = 1000;
  std::memcpy(raw + 4, &len, 4);
  CHECK(ParseNotification(raw, sizeof(raw), &n));
  CHECK(n.extra_length == 16);
  CHECK(!ParseNotification(raw, 7, &n));
}

static void Addresses() {
  std::vector<uint8_t> packed;
  CHECK(PackAddresses({"127.0.0.1", "::1", "192.0.2.5"}, 80, AF_INET6, &packed));
  CHECK(packed.size() == 3 * sizeof(sockaddr_in6));
  auto list = UnpackAddresses(packed.data(), packed.size(), 3);
  CHECK(list.size() == 3);
  CHECK(list[0].host == "127.0.0.1" && list[0].family == AF_INET && list[0].port == 80);
  CHECK(list[1].host == "::1" && list[1].family == AF_INET6);
  CHECK(list[2].host == "192.0.2.5");
  CHECK(PackAddresses({"10.0.0.1", "10.0.0.2"}, 1, AF_INET, &packed));
  CHECK(packed.size() == 2 * sizeof(sockaddr_in));
  CHECK(!PackAddresses({"::1"}, 1, AF_INET, &packed));  // IPv6 on an IPv4 socket
  CHECK(!PackAddresses({"example.com"}, 1, AF_INET6, &packed));
  // More entries claimed than present, and a truncated last entry: stops, no overread.
  CHECK(PackAddresses({"10.0.0.1", "10.0.0.2"}, 1, AF_INET, &packed));
  CHECK(UnpackAddresses(packed.data(), packed.size(), 10).size() == 2);
  CHECK(UnpackAddresses(packed.data(), packed.size() - 1, 2).size() == 1);
}

static void Reassembly() {
  Reassembler r(10, 1000);
  const uint8_t* hello = reinterpret_cast<const uint8_t*>("helloworld!");
  // A whole message: no copy, the caller's bytes.
  CHECK(r.Add(1, hello, 5, true) == Reassembler::Result::kComplete);
  CHECK(r.Data() == hello && r.Size() == 5);
  r.Consume();
  // In pieces, interleaved with another key.
  CHECK(r.Add(1, hello, 3, false) == Reassembler::Result::kPartial);
  CHECK(r.Add(2, hello + 5, 2, false) == Reassembler::Result::kPartial);
  CHECK(r.Add(1, hello + 3, 2, true) == Reassembler::Result::kComplete);
  CHECK(r.Size() == 5 && std::memcmp(r.Data(), "hello", 5) == 0);
  r.Consume();
  CHECK(r.Pending() == 1);
  CHECK(r.Drop(2) && r.Pending() == 0);
  // Too large: reported once, the rest discarded, the next message is fine.
  CHECK(r.Add(3, hello, 6, false) == Reassembler::Result::kPartial);
  CHECK(r.Add(3, hello, 6, false) == Reassembler::Result::kTooLarge);
  CHECK(r.Add(3, hello, 6, false) == Reassembler::Result::kDiscarded);
  CHECK(r.Add(3, hello, 1, true) == Reassembler::Result::kDiscarded);
  CHECK(r.Add(3, hello, 4, true) == Reassembler::Result::kComplete);
  r.Consume();
  CHECK(r.Add(4, hello, 11, true) == Reassembler::Result::kTooLarge);
  CHECK(r.Pending() == 0);
  CHECK(r.HeldBytes() == 0);
}

// Keys by association, stream and ordering; what is dropped when; the total bound; moving an
// association's pieces to another reassembler (peeloff).
static void ReassemblyByAssociation() {
  const uint8_t* data = reinterpret_cast<const uint8_t*>("abcdefghij");
  using R = Reassembler;
  CHECK(R::Key(7, 1, false) != R::Key(7, 1, true));
  CHECK(R::Key(7, 1, false) != R::Key(8, 1, false));
  CHECK(R::AssocOf(R::Key(-5, 3, true)) == -5);
  R r(100, 12);
  CHECK(r.Add(R::Key(7, 1, false), data, 6, false) == R::Result::kPartial);
  CHECK(r.Add(R::Key(7, 1, true), data, 4, false) == R::Result::kPartial);
  CHECK(r.Add(R::Key(8, 1, false), data, 2, false) == R::Result::kPartial);
  CHECK(r.HeldBytes() == 12 && r.PendingOf(7) == 2 && r.PendingOf(8) == 1);
  // The total is reached: the largest partial message goes, and the caller hears of it.
  CHECK(r.Add(R::Key(9, 0, false), data, 1, false) == R::Result::kPartial);
  CHECK(r.Evicted().size() == 1 && r.Evicted()[0] == R::Key(7, 1, false));
  r.Evicted().clear();
  CHECK(r.HeldBytes() == 7);
  CHECK(r.Add(R::Key(7, 1, false), data, 1, false) == R::Result::kDiscarded);
  CHECK(r.Add(R::Key(7, 1, false), data, 1, true) == R::Result::kDiscarded);
  CHECK(r.PendingOf(7) == 1);
  // A message that would be the largest itself is the one that is too large.
  CHECK(r.Add(R::Key(10, 0, false), data, 6, false) == R::Result::kTooLarge);
  CHECK(r.Evicted().empty() && r.HeldBytes() == 7);
  CHECK(r.DropAssociation(7) == 1);
  CHECK(r.DropAssociation(10) == 1 && r.DropAssociation(9) == 1);
  CHECK(r.HeldBytes() == 2 && r.Pending() == 1);
  R other(100, 100);
  r.MoveAssociation(8, &other);
  CHECK(r.HeldBytes() == 0 && r.Pending() == 0);
  CHECK(other.HeldBytes() == 2 && other.PendingOf(8) == 1);
  CHECK(other.Add(R::Key(8, 1, false), data + 2, 4, true) == R::Result::kComplete);
  CHECK(other.Size() == 6 && std::memcmp(other.Data(), "abcdef", 6) == 0);
  other.Consume();
  CHECK(other.HeldBytes() == 0);
}

static void NotificationLimit() {
  Reassembler r(kMaxNotificationSize, kMaxNotificationSize);
  std::vector<uint8_t> piece(100 * 1024, 9);
  CHECK(r.Add(0, piece.data(), piece.size(), false) == Reassembler::Result::kPartial);
  CHECK(r.Add(0, piece.data(), piece.size(), true) == Reassembler::Result::kComplete);
  CHECK(r.Size() == 200 * 1024);
  r.Consume();
  Reassembler::Result last = Reassembler::Result::kPartial;
  for (int i = 0; i < 11 && last == Reassembler::Result::kPartial; i++) {
    last = r.Add(0, piece.data(), piece.size(), false);
  }
  CHECK(last == Reassembler::Result::kTooLarge);
  CHECK(r.HeldBytes() == 0);
  CHECK(r.Add(0, piece.data(), 10, true) == Reassembler::Result::kDiscarded);
  CHECK(r.Add(0, piece.data(), 10, true) == Reassembler::Result::kComplete);
}

static void StreamResetList() {
  std::vector<uint8_t> buf(sizeof(sctp_stream_reset_event) + 6, 0);
  sctp_stream_reset_event e{};
  e.strreset_type = SCTP_STREAM_RESET_EVENT;
  e.strreset_flags = SCTP_STREAM_RESET_OUTGOING_SSN;
  e.strreset_length = static_cast<uint32_t>(buf.size());
  e.strreset_assoc_id = 3;
  std::memcpy(buf.data(), &e, sizeof(e));
  const uint16_t streams[3] = {1, 2, 300};
  std::memcpy(buf.data() + sizeof(e), streams, sizeof(streams));
  Notification n;
  CHECK(ParseNotification(buf.data(), buf.size(), &n));
  CHECK(n.streams.size() == 3 && n.streams[2] == 300);
  CHECK(n.extra_length == 0);
  // An odd trailing byte is not a stream.
  CHECK(ParseNotification(buf.data(), buf.size() - 1, &n));
  CHECK(n.streams.size() == 2);
}

// Random bytes, random known types, random lengths: the parser must never read out of
// bounds (the sanitizers abort if it does) and must agree with its own length rules.
static void Fuzz(unsigned iterations) {
  std::mt19937 rng(20261121);
  std::vector<uint8_t> buf;
  for (unsigned i = 0; i < iterations; i++) {
    size_t len = rng() % 400;
    buf.resize(len);
    for (auto& b : buf) b = static_cast<uint8_t>(rng());
    if (len >= 2 && (rng() & 1)) {
      uint16_t type = static_cast<uint16_t>(SCTP_SN_TYPE_BASE + rng() % 16);
      std::memcpy(buf.data(), &type, 2);
    }
    // Exact-size heap copy, so a read past `len` is caught by AddressSanitizer.
    auto* exact = static_cast<uint8_t*>(std::malloc(len ? len : 1));
    if (len) std::memcpy(exact, buf.data(), len);
    Notification n;
    if (ParseNotification(exact, len, &n)) {
      CHECK(n.extra_offset + n.extra_length <= len);
    }
    UnpackAddresses(exact, len, rng() % 8);
    std::free(exact);
  }
}

int main(int argc, char** argv) {
  unsigned iterations =
      argc > 1 ? static_cast<unsigned>(std::strtoul(argv[1], nullptr, 10)) : 100000;
  AssocChange();
  PeerAddrChangeIPv6();
  SendFailedPpidAndRemoteError();
  UnknownAndLengths();
  Addresses();
  Reassembly();
  ReassemblyByAssociation();
  StreamResetList();
  NotificationLimit();
  Fuzz(iterations);
  if (failures) {
    std::fprintf(stderr, "%d of %d checks failed\n", failures, checks);
    return 1;
  }
  std::printf("ok %d checks, %u fuzz iterations\n", checks, iterations);
  return 0;
}
