// Addresses in both directions: the packed lists the kernel returns (SCTP_GET_PEER_ADDRS,
// SCTP_GET_LOCAL_ADDRS) and single sockaddrs, then text from callers (with zones, junk,
// embedded NULs) into sockaddrs and packed lists. Whatever the library prints must parse
// back to the same address: peer addresses are handed back to the kernel (sends by address,
// setPrimary, path options).
#include <arpa/inet.h>

#include <string>
#include <vector>

#include "../../native/sockaddr.h"
#include "fuzz.h"

using namespace ksctp;

// The printed form of an address parses back to one that prints the same.
static void RoundTrip(const Address& a, int socket_family) {
  FUZZ_CHECK(a.family == AF_INET || a.family == AF_INET6);
  FUZZ_CHECK(!a.host.empty());
  if (a.family == AF_INET6 && socket_family == AF_INET) return;  // not expressible
  sockaddr_storage ss;
  socklen_t len = ToSockaddr(a.host, a.port, socket_family, &ss);
  FUZZ_CHECK(len > 0);
  Address back;
  FUZZ_CHECK(FromSockaddr(&ss, len, &back));
  FUZZ_CHECK(back.family == a.family && back.host == a.host && back.port == a.port);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  uint8_t mode = in.Take<uint8_t>();
  int family = (mode & 0x80) ? AF_INET6 : AF_INET;
  switch (mode & 3) {
    case 0: {  // a packed list from the kernel: count, then the bytes
      size_t count = in.Take<uint16_t>();
      std::vector<uint8_t> list(in.Rest(), in.Rest() + in.Left());
      std::vector<Address> out = UnpackAddresses(list.data(), list.size(), count);
      FUZZ_CHECK(out.size() <= count);
      FUZZ_CHECK(out.size() * sizeof(sockaddr_in) <= list.size());
      for (const Address& a : out) RoundTrip(a, AF_INET6);
      break;
    }
    case 1: {  // one sockaddr of any length
      std::vector<uint8_t> raw(in.Rest(), in.Rest() + in.Left());
      Address a;
      if (FromSockaddr(raw.data(), raw.size(), &a)) RoundTrip(a, family);
      break;
    }
    default: {  // caller text: up to 8 addresses separated by '\n'
      uint16_t port = in.Take<uint16_t>();
      std::string text(reinterpret_cast<const char*>(in.Rest()), in.Left());
      std::vector<std::string> hosts;
      for (size_t start = 0; hosts.size() < 8;) {  // a few per input: more only slows it
        size_t end = text.find('\n', start);
        hosts.push_back(text.substr(start, end == std::string::npos ? end : end - start));
        if (end == std::string::npos) break;
        start = end + 1;
      }
      for (const std::string& host : hosts) {
        sockaddr_storage ss;
        socklen_t len = ToSockaddr(host, port, family, &ss);
        if (len == 0) continue;
        FUZZ_CHECK(host.find('\0') == std::string::npos);
        FUZZ_CHECK(len == (family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)));
        Address a;
        FUZZ_CHECK(FromSockaddr(&ss, len, &a));
        FUZZ_CHECK(a.port == port);
        RoundTrip(a, family);
      }
      std::vector<uint8_t> packed;
      if (PackAddresses(hosts, port, family, &packed)) {
        std::vector<Address> back = UnpackAddresses(packed.data(), packed.size(), hosts.size());
        FUZZ_CHECK(back.size() == hosts.size());
      }
      break;
    }
  }
  return 0;
}
