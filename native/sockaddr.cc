#include "sockaddr.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace ksctp {

// A zone (the part after '%'): an interface number in decimal, or an interface name.
// Returns the interface index, or 0 when it is neither.
static uint32_t ParseZone(const std::string& zone) {
  if (zone.empty() || zone.size() >= IF_NAMESIZE) return 0;
  if (zone.find_first_not_of("0123456789") == std::string::npos) {
    unsigned long long n = std::strtoull(zone.c_str(), nullptr, 10);
    return n <= UINT32_MAX ? static_cast<uint32_t>(n) : 0;
  }
  return if_nametoindex(zone.c_str());
}

socklen_t ToSockaddr(const std::string& host, uint16_t port, int socket_family,
                     sockaddr_storage* out) {
  std::memset(out, 0, sizeof(*out));
  // inet_pton reads up to the first NUL: "1.2.3.4\0junk" must not pass as 1.2.3.4.
  if (host.find('\0') != std::string::npos) return 0;
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    if (socket_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(out);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(port);
      sin->sin_addr = v4;
      return sizeof(sockaddr_in);
    }
    // An AF_INET6 socket speaks IPv4 through v4-mapped addresses (::ffff:a.b.c.d).
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_addr.s6_addr[10] = 0xff;
    sin6->sin6_addr.s6_addr[11] = 0xff;
    std::memcpy(&sin6->sin6_addr.s6_addr[12], &v4, 4);
    return sizeof(sockaddr_in6);
  }
  // IPv6, with an optional %zone (interface name or number) for link-local addresses.
  std::string text = host;
  uint32_t scope = 0;
  size_t percent = text.find('%');
  if (percent != std::string::npos) {
    scope = ParseZone(text.substr(percent + 1));
    if (scope == 0) return 0;
    text.resize(percent);
  }
  if (socket_family == AF_INET6 && inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_addr = v6;
    sin6->sin6_scope_id = scope;
    return sizeof(sockaddr_in6);
  }
  return 0;
}

bool PackAddresses(const std::vector<std::string>& hosts, uint16_t port, int socket_family,
                   std::vector<uint8_t>* out) {
  out->clear();
  for (const auto& host : hosts) {
    sockaddr_storage ss;
    socklen_t len = ToSockaddr(host, port, socket_family, &ss);
    if (len == 0) return false;
    const auto* bytes = reinterpret_cast<const uint8_t*>(&ss);
    out->insert(out->end(), bytes, bytes + len);
  }
  return true;
}

bool FromSockaddr(const void* data, size_t length, Address* out) {
  sa_family_t family;
  if (length < sizeof(family)) return false;
  std::memcpy(&family, data, sizeof(family));
  char text[INET6_ADDRSTRLEN];
  if (family == AF_INET && length >= sizeof(sockaddr_in)) {
    sockaddr_in sin;
    std::memcpy(&sin, data, sizeof(sin));
    inet_ntop(AF_INET, &sin.sin_addr, text, sizeof(text));
    out->family = AF_INET;
    out->host = text;
    out->port = ntohs(sin.sin_port);
    return true;
  }
  if (family == AF_INET6 && length >= sizeof(sockaddr_in6)) {
    sockaddr_in6 sin6;
    std::memcpy(&sin6, data, sizeof(sin6));
    out->port = ntohs(sin6.sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
      inet_ntop(AF_INET, &sin6.sin6_addr.s6_addr[12], text, sizeof(text));
      out->family = AF_INET;
      out->host = text;
      return true;
    }
    inet_ntop(AF_INET6, &sin6.sin6_addr, text, sizeof(text));
    out->family = AF_INET6;
    out->host = text;
    // A zone only means something for link-local addresses (the kernel sets one on ::1 too).
    bool link_local =
        IN6_IS_ADDR_LINKLOCAL(&sin6.sin6_addr) || IN6_IS_ADDR_MC_LINKLOCAL(&sin6.sin6_addr);
    if (link_local && sin6.sin6_scope_id != 0) {
      out->host += "%" + std::to_string(sin6.sin6_scope_id);
    }
    return true;
  }
  return false;
}

std::vector<Address> UnpackAddresses(const uint8_t* data, size_t length, size_t count) {
  std::vector<Address> result;
  size_t offset = 0;
  for (size_t i = 0; i < count && offset + sizeof(sa_family_t) <= length; i++) {
    sa_family_t family;
    std::memcpy(&family, data + offset, sizeof(family));
    size_t size = family == AF_INET    ? sizeof(sockaddr_in)
                  : family == AF_INET6 ? sizeof(sockaddr_in6)
                                       : 0;
    if (size == 0 || offset + size > length) break;
    Address address;
    if (!FromSockaddr(data + offset, size, &address)) break;
    result.push_back(std::move(address));
    offset += size;
  }
  return result;
}

}  // namespace ksctp
