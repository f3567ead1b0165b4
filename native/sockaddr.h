// Socket addresses in and out: text <-> sockaddr, and the packed address lists the kernel
// uses for bindx/connectx and for SCTP_GET_{PEER,LOCAL}_ADDRS.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ksctp {

struct Address {
  int family = 0;  // AF_INET or AF_INET6 (a v4-mapped IPv6 address is reported as AF_INET)
  std::string host;
  uint16_t port = 0;
};

// Parses a numeric IPv4/IPv6 address into a sockaddr for a socket of `socket_family`:
// IPv4 on an AF_INET6 socket becomes v4-mapped. Returns the sockaddr length, or 0 when
// `host` is not a numeric address usable with that family.
socklen_t ToSockaddr(const std::string& host, uint16_t port, int socket_family,
                     sockaddr_storage* out);

// Packs addresses back to back (sockaddr_in / sockaddr_in6), as bindx/connectx expect.
// Returns false when one of them does not parse.
bool PackAddresses(const std::vector<std::string>& hosts, uint16_t port, int socket_family,
                   std::vector<uint8_t>* out);

// Reads one sockaddr (IPv4, IPv6; v4-mapped is unmapped). Returns false for other families.
bool FromSockaddr(const void* data, size_t length, Address* out);

// Walks `count` packed addresses in `data` (at most `length` bytes), stopping at the first
// malformed or truncated entry.
std::vector<Address> UnpackAddresses(const uint8_t* data, size_t length, size_t count);

}  // namespace ksctp
