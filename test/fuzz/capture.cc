// Captures the fuzz targets' seed corpora from a real kernel: it runs SCTP scenarios on
// loopback (multihomed, IPv4 and IPv6; data, partial delivery, stream reconfiguration,
// shutdown, abort, send failures) and writes the bytes the kernel hands back: every
// notification, every recvmsg's control messages, address lists, sockaddrs, every table
// option's getsockopt structure, and the real sequence of message pieces as reassembler
// operations. Run in the SCTP VM by `scripts/fuzz --capture` (not on the host: no SCTP).
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "../../native/linux_sctp.h"
#include "../../native/message.h"
#include "../../native/notification.h"
#include "../../native/options.h"
#include "../../native/sockaddr.h"

using namespace ksctp;

static std::string out_dir;
static std::map<std::string, int> written;  // target/name -> files written
static std::set<std::string> seen;          // contents already written, per target

// Writes one seed, unless the same bytes were seen or this kind already has enough.
static void Save(const std::string& target, const std::string& name, const void* data,
                 size_t size) {
  std::string content = target + '/' + std::string(static_cast<const char*>(data), size);
  if (!seen.insert(content).second || written[target + "/" + name] >= 8) return;
  std::string dir = out_dir + "/" + target;
  mkdir(dir.c_str(), 0755);
  std::string path = dir + "/" + name + "-" + std::to_string(++written[target + "/" + name]);
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) {
    std::perror(path.c_str());
    std::exit(1);
  }
  std::fwrite(data, 1, size, f);
  std::fclose(f);
}

static void Die(const char* what) {
  std::perror(what);
  std::exit(1);
}

static void SetInt(int fd, int level, int name, int value) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) < 0) Die("setsockopt");
}

static void Sysctl(const char* path, const char* value) {
  int fd = open(path, O_WRONLY);
  if (fd < 0 || write(fd, value, std::strlen(value)) < 0) Die(path);
  close(fd);
}

static int Open(int family) {
  int fd = socket(family, SOCK_SEQPACKET, IPPROTO_SCTP);
  if (fd < 0) Die("socket");
  SetInt(fd, IPPROTO_SCTP, SCTP_RECVRCVINFO, 1);
  SetInt(fd, IPPROTO_SCTP, SCTP_RECVNXTINFO, 1);
  SetInt(fd, IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, 1);
  for (uint16_t type = SCTP_SN_TYPE_BASE; type <= SCTP_SN_TYPE_MAX; type++) {
    sctp_event e{};
    e.se_assoc_id = SCTP_FUTURE_ASSOC;
    e.se_type = type;
    e.se_on = 1;
    setsockopt(fd, IPPROTO_SCTP, SCTP_EVENT, &e, sizeof(e));  // unknown types are skipped
  }
  sctp_initmsg init{};
  init.sinit_num_ostreams = 10;
  init.sinit_max_instreams = 10;
  setsockopt(fd, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof(init));
  sctp_setadaptation adaptation{0x01020304};
  setsockopt(fd, IPPROTO_SCTP, SCTP_ADAPTATION_LAYER, &adaptation, sizeof(adaptation));
  sctp_assoc_value reconf{SCTP_FUTURE_ASSOC, SCTP_ENABLE_RESET_STREAM_REQ |
                                                 SCTP_ENABLE_RESET_ASSOC_REQ |
                                                 SCTP_ENABLE_CHANGE_ASSOC_REQ};
  setsockopt(fd, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reconf, sizeof(reconf));
  return fd;
}

static void Bind(int fd, int family, const std::vector<std::string>& hosts, uint16_t port) {
  std::vector<uint8_t> packed;
  if (!PackAddresses(hosts, port, family, &packed)) Die("pack");
  if (setsockopt(fd, IPPROTO_SCTP, SCTP_SOCKOPT_BINDX_ADD, packed.data(), packed.size()) < 0) {
    Die("bindx");
  }
}

static sctp_assoc_t Connect(int fd, int family, const std::vector<std::string>& hosts,
                            uint16_t port) {
  std::vector<uint8_t> packed;
  PackAddresses(hosts, port, family, &packed);
  sctp_getaddrs_old param{};
  param.addr_num = static_cast<int>(packed.size());
  param.addrs = reinterpret_cast<sockaddr*>(packed.data());
  socklen_t len = sizeof(param);
  if (getsockopt(fd, IPPROTO_SCTP, SCTP_SOCKOPT_CONNECTX3, &param, &len) < 0 &&
      errno != EINPROGRESS) {
    Die("connectx");
  }
  return param.assoc_id;
}

static void Send(int fd, sctp_assoc_t assoc, uint16_t stream, const void* data, size_t size,
                 uint16_t flags = 0, uint32_t ttl = 0) {
  SendInfo info;  // laid out by the library's own OutgoingMessage
  info.stream = stream;
  info.ppid = 46;
  info.flags = flags;
  info.assoc_id = assoc;
  if (ttl > 0) {
    info.pr_policy = SCTP_PR_SCTP_TTL;
    info.pr_value = ttl;
  }
  OutgoingMessage m;
  m.Init(data, size, info, nullptr, 0);
  if (sendmsg(fd, &m.msg, MSG_NOSIGNAL) < 0 && errno != EAGAIN && errno != EPIPE) Die("sendmsg");
}

// Reassembler operations from the real pieces: op 3 (a u16 length), the key's byte.
static std::vector<uint8_t> pieces = {0xff, 0x0f, 0xff, 0x1f};  // max 4096, total 8192

static std::string NotificationName(const uint8_t* data, size_t size) {
  Notification n;
  if (!ParseNotification(data, size, &n)) return "malformed";
  std::string name = n.name ? n.name : "unknown";
  for (const Value& v : n.fields) {
    if (std::strcmp(v.name, "state") == 0) name += "-state" + std::to_string(v.number);
  }
  return name;
}

// Reads whatever is queued on `fd` for `ms` milliseconds; returns the association ids seen
// in COMM_UP notifications.
static std::vector<sctp_assoc_t> Drain(int fd, int ms) {
  std::vector<sctp_assoc_t> up;
  static std::vector<uint8_t> buffer(1 << 17);
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0) return up;
    alignas(cmsghdr) uint8_t control[256];
    iovec iov{buffer.data(), buffer.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN) continue;
      return up;
    }
    if (msg.msg_controllen > 0) Save("control", "recvmsg", control, msg.msg_controllen);
    if (msg.msg_flags & MSG_NOTIFICATION) {
      Save("notification", NotificationName(buffer.data(), n), buffer.data(), n);
      sctp_assoc_change ac;
      if (n >= static_cast<ssize_t>(sizeof(ac))) {
        std::memcpy(&ac, buffer.data(), sizeof(ac));
        if (ac.sac_type == SCTP_ASSOC_CHANGE && ac.sac_state == SCTP_COMM_UP) {
          up.push_back(ac.sac_assoc_id);
        }
      }
      continue;
    }
    // A data piece: its real length and end-of-record flag, as a reassembler operation.
    uint16_t length = static_cast<uint16_t>(n > 0xffff ? 0xffff : n);
    uint8_t stream = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == IPPROTO_SCTP && c->cmsg_type == SCTP_RCVINFO) {
        sctp_rcvinfo info;
        std::memcpy(&info, CMSG_DATA(c), sizeof(info));
        stream = info.rcv_sid & 3;
      }
    }
    pieces.push_back(3);
    pieces.push_back(static_cast<uint8_t>(stream | ((msg.msg_flags & MSG_EOR) ? 0x80 : 0)));
    pieces.push_back(length & 0xff);
    pieces.push_back(length >> 8);
  }
}

static void SaveAddresses(int fd, int optname, sctp_assoc_t assoc, const char* name) {
  std::vector<uint8_t> buffer(4096);
  auto* param = reinterpret_cast<sctp_getaddrs*>(buffer.data());
  param->assoc_id = assoc;
  socklen_t len = buffer.size();
  if (getsockopt(fd, IPPROTO_SCTP, optname, buffer.data(), &len) < 0) return;
  size_t header = offsetof(sctp_getaddrs, addrs);
  size_t bytes = 0;  // the list's real length, walked as the kernel packs it
  for (uint32_t i = 0; i < param->addr_num; i++) {
    sa_family_t family;
    std::memcpy(&family, buffer.data() + header + bytes, sizeof(family));
    bytes += family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  }
  std::vector<uint8_t> seed = {0, static_cast<uint8_t>(param->addr_num), 0};
  seed.insert(seed.end(), buffer.begin() + header, buffer.begin() + header + bytes);
  Save("addresses", name, seed.data(), seed.size());
  for (size_t off = 0; off < bytes;) {  // each one as a single sockaddr (mode 1)
    sa_family_t family;
    std::memcpy(&family, buffer.data() + header + off, sizeof(family));
    size_t size = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    std::vector<uint8_t> one = {static_cast<uint8_t>(family == AF_INET6 ? 0x81 : 0x01)};
    one.insert(one.end(), buffer.begin() + header + off, buffer.begin() + header + off + size);
    Save("addresses", "sockaddr", one.data(), one.size());
    off += size;
  }
}

static void SaveOptions(int fd, sctp_assoc_t assoc) {
  size_t count;
  const SocketOption* table = OptionTable(&count);
  for (size_t i = 0; i < count; i++) {
    const SocketOption& o = table[i];
    std::vector<uint8_t> value(o.layout.size, 0);
    if (o.layout.field_count > 0 && std::strcmp(o.layout.fields[0].name, "assocId") == 0) {
      std::memcpy(value.data(), &assoc, sizeof(assoc));  // assoc id first, as in most
    }
    socklen_t len = value.size();
    if (getsockopt(fd, o.level, o.optname, value.data(), &len) < 0) continue;
    std::vector<uint8_t> seed = {static_cast<uint8_t>(i)};
    seed.insert(seed.end(), value.begin(), value.end());
    Save("options", o.name, seed.data(), seed.size());
  }
}

static void Scenario(int family, const std::vector<std::string>& server_hosts,
                     const std::vector<std::string>& client_hosts, uint16_t port) {
  int server = Open(family);
  Bind(server, family, server_hosts, port);
  if (listen(server, 16) < 0) Die("listen");
  int client = Open(family);
  Bind(client, family, client_hosts, 0);
  sctp_assoc_t assoc = Connect(client, family, server_hosts, port);
  Drain(client, 300);
  std::vector<sctp_assoc_t> up = Drain(server, 300);
  sctp_assoc_t server_assoc = up.empty() ? 0 : up[0];

  // Messages on several streams, then one far larger than the partial delivery point.
  SetInt(server, IPPROTO_SCTP, SCTP_PARTIAL_DELIVERY_POINT, 1500);
  for (uint16_t s = 0; s < 4; s++) Send(client, assoc, s, "hello", 5, s & 1 ? SCTP_UNORDERED : 0);
  std::vector<uint8_t> big(20000, 'x');
  Send(client, assoc, 2, big.data(), big.size());
  Drain(server, 300);
  Drain(client, 300);  // peer address confirmations, adaptation, sender dry

  SaveAddresses(server, SCTP_GET_PEER_ADDRS, server_assoc, "peer");
  SaveAddresses(server, SCTP_GET_LOCAL_ADDRS, server_assoc, "local");
  SaveAddresses(client, SCTP_GET_PEER_ADDRS, assoc, "peer");
  SaveOptions(server, server_assoc);
  SaveOptions(client, assoc);

  // Stream reconfiguration: reset some outgoing streams, add streams, reset the TSNs.
  std::vector<uint8_t> reset(sizeof(sctp_reset_streams) + 2 * sizeof(uint16_t));
  auto* rs = reinterpret_cast<sctp_reset_streams*>(reset.data());
  rs->srs_assoc_id = assoc;
  rs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
  rs->srs_number_streams = 2;
  rs->srs_stream_list[0] = 1;
  rs->srs_stream_list[1] = 3;
  setsockopt(client, IPPROTO_SCTP, SCTP_RESET_STREAMS, reset.data(), reset.size());
  Drain(server, 200);
  Drain(client, 200);
  sctp_add_streams add{assoc, 2, 2};
  setsockopt(client, IPPROTO_SCTP, SCTP_ADD_STREAMS, &add, sizeof(add));
  Drain(server, 200);
  Drain(client, 200);
  setsockopt(client, IPPROTO_SCTP, SCTP_RESET_ASSOC, &assoc, sizeof(assoc));
  Drain(server, 200);
  Drain(client, 200);

  // A second association that ends with an ABORT carrying a reason and unsent data.
  int other = Open(family);
  sctp_assoc_t doomed = Connect(other, family, server_hosts, port);
  Drain(other, 300);
  Drain(server, 300);
  SetInt(server, SOL_SOCKET, SO_RCVBUF, 4096);
  for (int i = 0; i < 50; i++) Send(other, doomed, 0, big.data(), 3000, 0, 1);
  Send(other, doomed, 0, "going away", 10, SCTP_ABORT);
  Drain(other, 300);
  Drain(server, 300);
  close(other);

  // A partial message, then the peer aborts (PARTIAL_DELIVERY_EVENT aborted).
  int partial = Open(family);
  sctp_assoc_t cut = Connect(partial, family, server_hosts, port);
  Drain(partial, 300);
  Drain(server, 300);
  std::vector<uint8_t> huge(200000, 'y');
  Send(partial, cut, 1, huge.data(), huge.size());
  Drain(server, 100);
  linger l{1, 0};
  setsockopt(partial, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  close(partial);
  Drain(server, 300);

  // A graceful shutdown of the first association.
  Send(client, assoc, 0, nullptr, 0, SCTP_EOF);
  Drain(server, 300);
  Drain(client, 300);
  close(client);
  close(server);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: capture CORPUS_DIR\n");
    return 2;
  }
  out_dir = argv[1];
  mkdir(out_dir.c_str(), 0755);
  Sysctl("/proc/sys/net/sctp/reconf_enable", "1");
  // ASCONF needs AUTH (RFC 5061): with only addip_enable the kernel refuses associations.
  Sysctl("/proc/sys/net/sctp/auth_enable", "1");
  Sysctl("/proc/sys/net/sctp/addip_enable", "1");
  Scenario(AF_INET, {"127.0.0.1", "127.0.0.2"}, {"127.0.0.3", "127.0.0.4"}, 47001);
  Scenario(AF_INET6, {"::1", "127.0.0.1"}, {"::1"}, 47002);
  Save("reassembler", "kernel-pieces", pieces.data(), pieces.size());
  // Caller text has no kernel source: a few forms users write, with and without zones.
  const char text[] =
      "\x82\x0f\x1c"
      "fe80::1%4294967296\n300.1.1.1\nfe80::1%1\nfe80::1%lo\n::ffff:10.0.0.1\n1.2.3.4%eth0\n"
      "127.0.0.1\n::1\n";  // the harness reads 8 lines
  Save("addresses", "text", text, sizeof(text) - 1);
  for (const auto& [name, n] : written) std::printf("%s: %d\n", name.c_str(), n);
  return 0;
}
