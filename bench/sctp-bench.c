// The C comparator: the kernel's SCTP API used directly (blocking sockets, send/recv), the
// practical limit for kernel-sctp. Forks a server, runs the client, prints one JSON line.
//   sctp-bench rate <messages> <size> <nodelay 0|1> [buffer bytes]
//                                                        pipelined messages, one association;
//                                                        buffer: SO_SNDBUF and SO_RCVBUF on
//                                                        both ends (forced where allowed)
//   sctp-bench pingpong <round trips> <size>             one message out, its echo back
//   sctp-bench setup <associations> [in flight] [wait|nowait]
//                                                        connect + close, `in flight` at a time
//                                                        (default 1; non-blocking, epoll);
//                                                        wait: shutdown(SHUT_WR), then wait
//                                                        for the SHUTDOWN handshake's end
//                                                        before close; nowait: close at once
//   sctp-bench rate-nb <messages> <size> <nodelay>       rate, but a non-blocking sender that
//                                                        waits in epoll on EAGAIN (as Node does)
//   sctp-bench rate-mmsg <messages> <size> <nodelay>     rate, sent with sendmmsg in bursts of
//                                                        64 messages
//   sctp-bench echo-endpoint <buffer bytes>              a one-to-many echo server on 127.0.0.1:
//                                                        prints its port, echoes every message
//                                                        on its association until killed
// Halves, to pair with another implementation: SCTP_BENCH_SERVE=1 runs only the server (it
// prints its port first), SCTP_BENCH_PORT=<port> only the client, against that port (on
// SCTP_BENCH_HOST, default 127.0.0.1). SCTP_BENCH_WARMUP=<n> (rate): n messages first,
// answered with one reply and not measured, as the Node side's warm-up. SCTP_BENCH_INFO=1
// (rate, pingpong): messages carry what kernel-sctp's do, sent with sendmsg and SCTP_SNDINFO,
// received with recvmsg, SCTP_RCVINFO and SCTP_NXTINFO. SCTP_BENCH_PROTO=tcp (pingpong): the
// same over TCP with TCP_NODELAY, for what C pays for TCP's round trip. Build: cc -O2 -o sctp-bench
// sctp-bench.c   (no libsctp needed)
#define _GNU_SOURCE  // sendmmsg
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sctp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static int buffer_size;  // 0: the kernel's defaults

static void set_buffer(int fd, int force, int plain) {
  if (setsockopt(fd, SOL_SOCKET, force, &buffer_size, sizeof(buffer_size)) < 0)
    setsockopt(fd, SOL_SOCKET, plain, &buffer_size, sizeof(buffer_size));
}

static int with_info;  // SCTP_BENCH_INFO=1
static int over_tcp;   // SCTP_BENCH_PROTO=tcp

static int open_socket(int nodelay) {
  int fd = socket(AF_INET, SOCK_STREAM, over_tcp ? IPPROTO_TCP : IPPROTO_SCTP);
  if (fd < 0) die("socket");
  if (over_tcp) {
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof(nodelay));
    return fd;
  }
  setsockopt(fd, IPPROTO_SCTP, SCTP_NODELAY, &nodelay, sizeof(nodelay));
  if (with_info) {
    int on = 1;
    setsockopt(fd, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on));
    setsockopt(fd, IPPROTO_SCTP, SCTP_RECVNXTINFO, &on, sizeof(on));
  }
  if (buffer_size > 0) {
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
  }
  return fd;
}

// send(), or with SCTP_BENCH_INFO a sendmsg with the SCTP_SNDINFO kernel-sctp always sends.
static ssize_t send_message(int fd, const void *data, size_t size, int flags) {
  if (!with_info) return send(fd, data, size, flags);
  struct sctp_sndinfo info = {0};
  char control[CMSG_SPACE(sizeof(info))];
  struct iovec iov = {(void *)data, size};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = IPPROTO_SCTP;
  c->cmsg_type = SCTP_SNDINFO;
  c->cmsg_len = CMSG_LEN(sizeof(info));
  memcpy(CMSG_DATA(c), &info, sizeof(info));
  return sendmsg(fd, &msg, flags | MSG_NOSIGNAL);
}

// recv(), or with SCTP_BENCH_INFO a recvmsg that takes SCTP_RCVINFO and SCTP_NXTINFO.
static ssize_t receive_message(int fd, void *data, size_t size) {
  if (!with_info) return recv(fd, data, size, 0);
  char control[CMSG_SPACE(sizeof(struct sctp_rcvinfo)) + CMSG_SPACE(sizeof(struct sctp_nxtinfo))];
  struct iovec iov = {data, size};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)};
  return recvmsg(fd, &msg, 0);
}

// CPU time this process has used, microseconds: all (user + system), and the system part.
struct cpu_time {
  double all, system;
};
static struct cpu_time cpu_now(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  double user = u.ru_utime.tv_sec * 1e6 + u.ru_utime.tv_usec;
  double system = u.ru_stime.tv_sec * 1e6 + u.ru_stime.tv_usec;
  return (struct cpu_time){user + system, system};
}

// rate-mmsg: `count` messages of `size` bytes in sendmmsg calls of up to 64 (blocking).
static void send_bursts(int fd, char *buf, int size, long count) {
  struct iovec iov = {.iov_base = buf, .iov_len = size};
  struct mmsghdr burst[64];
  memset(burst, 0, sizeof(burst));
  for (int k = 0; k < 64; k++) {
    burst[k].msg_hdr.msg_iov = &iov;
    burst[k].msg_hdr.msg_iovlen = 1;
  }
  for (long i = 0; i < count;) {
    int n = sendmmsg(fd, burst, count - i < 64 ? (unsigned)(count - i) : 64, 0);
    if (n <= 0) die("sendmmsg");
    i += n;
  }
}

// True once `fd` has read its SHUTDOWN_COMP notification (or an end, or an error).
static int shutdown_completed(int fd) {
  union {
    struct sctp_assoc_change change;
    char bytes[256];
  } n;
  struct iovec iov = {&n, sizeof(n)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
  ssize_t got = recvmsg(fd, &msg, 0);
  if (got <= 0) return got == 0 || errno != EAGAIN;
  return (msg.msg_flags & MSG_NOTIFICATION) && n.change.sac_type == SCTP_ASSOC_CHANGE &&
         n.change.sac_state == SCTP_SHUTDOWN_COMP;
}

// Opens and closes `count` associations, `in_flight` at a time: non-blocking connects
// watched in epoll; with `wait`, each is shut down and closed once the SHUTDOWN handshake
// has ended, else closed at once (the kernel finishes it). A one-to-one socket that started
// the SHUTDOWN does not become readable when it completes: only the ASSOC_CHANGE
// notification (SHUTDOWN_COMP) says so, as it does for kernel-sctp.
static void setup_associations(struct sockaddr_in *addr, long count, int in_flight, int wait) {
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  long started = 0, done = 0;
  int active = 0;
  struct epoll_event events[128];
  while (done < count) {
    while (active < in_flight && started < count) {
      int fd = open_socket(1);
      fcntl(fd, F_SETFL, O_NONBLOCK);
      if (wait) {
        struct sctp_event e = {.se_type = SCTP_ASSOC_CHANGE, .se_on = 1};
        if (setsockopt(fd, IPPROTO_SCTP, SCTP_EVENT, &e, sizeof(e)) < 0) die("SCTP_EVENT");
      }
      if (connect(fd, (struct sockaddr *)addr, sizeof(*addr)) < 0 && errno != EINPROGRESS) {
        die("connect");
      }
      // data: the fd, and bit 32 once its SHUTDOWN is on its way.
      struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = (uint32_t)fd};
      if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
      active++;
      started++;
    }
    int n = epoll_wait(ep, events, 128, -1);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int i = 0; i < n; i++) {
      int fd = (int)(uint32_t)events[i].data.u64;
      int closing = (events[i].data.u64 >> 32) != 0;
      if (!closing) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          errno = err;
          die("connect");
        }
        if (wait) {
          if (shutdown(fd, SHUT_WR) < 0) die("shutdown");
          struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (1ull << 32) | (uint32_t)fd};
          if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0) die("epoll_ctl");
          continue;
        }
      } else if (!shutdown_completed(fd)) {
        continue;  // COMM_UP, read first
      }
      close(fd);  // also takes it out of the epoll set
      active--;
      done++;
    }
  }
  close(ep);
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

// One SOCK_SEQPACKET socket, blocking: recvmsg with SCTP_RCVINFO, sendmsg back with
// SCTP_SNDINFO naming the same association, stream and PPID.
static void echo_endpoint(void) {
  int fd = socket(AF_INET, SOCK_SEQPACKET, IPPROTO_SCTP);
  if (fd < 0) die("socket");
  int on = 1;
  setsockopt(fd, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on));
  setsockopt(fd, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on));
  if (buffer_size > 0) {
    set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF);
    set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF);
  }
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof(addr);
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) die("bind");
  if (listen(fd, 1024) < 0) die("listen");
  getsockname(fd, (struct sockaddr *)&addr, &len);
  printf("%d\n", ntohs(addr.sin_port));
  fflush(stdout);
  static char data[65536];
  char control[CMSG_SPACE(sizeof(struct sctp_sndinfo)) + CMSG_SPACE(sizeof(struct sctp_rcvinfo))];
  for (;;) {
    struct iovec iov = {data, sizeof(data)};
    struct msghdr msg = {.msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = control,
                         .msg_controllen = sizeof(control)};
    ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0) die("recvmsg");
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCTP_RCVINFO) continue;  // notifications are off: not expected
    struct sctp_rcvinfo rcv;
    memcpy(&rcv, CMSG_DATA(c), sizeof(rcv));
    struct sctp_sndinfo snd = {
        .snd_sid = rcv.rcv_sid, .snd_ppid = rcv.rcv_ppid, .snd_assoc_id = rcv.rcv_assoc_id};
    iov.iov_len = n;
    msg = (struct msghdr){.msg_iov = &iov,
                          .msg_iovlen = 1,
                          .msg_control = control,
                          .msg_controllen = CMSG_SPACE(sizeof(snd))};
    c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = IPPROTO_SCTP;
    c->cmsg_type = SCTP_SNDINFO;
    c->cmsg_len = CMSG_LEN(sizeof(snd));
    memcpy(CMSG_DATA(c), &snd, sizeof(snd));
    if (sendmsg(fd, &msg, 0) < 0 && errno != EPIPE) die("sendmsg");
  }
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "echo-endpoint") == 0) {
    buffer_size = argc > 2 ? atoi(argv[2]) : 0;
    echo_endpoint();
    return 0;
  }
  if (argc < 3) {
    fprintf(stderr, "usage: sctp-bench rate|pingpong|setup ...\n");
    return 2;
  }
  const char *mode = argv[1];
  long count = atol(argv[2]);
  int size = argc > 3 ? atoi(argv[3]) : 1;
  int nodelay = argc > 4 ? atoi(argv[4]) : 1;
  buffer_size = argc > 5 ? atoi(argv[5]) : 0;
  with_info = getenv("SCTP_BENCH_INFO") != NULL;
  const char *proto = getenv("SCTP_BENCH_PROTO");
  over_tcp = proto && strcmp(proto, "tcp") == 0;
  if (over_tcp && strcmp(mode, "pingpong") != 0) {
    fprintf(stderr,
            "sctp-bench: SCTP_BENCH_PROTO=tcp is for pingpong only (TCP has no messages)\n");
    return 2;
  }
  char *buf = calloc(1, size > 65536 ? size : 65536);

  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  const char *peer_port = getenv("SCTP_BENCH_PORT");
  int serve_only = getenv("SCTP_BENCH_SERVE") != NULL;
  int lfd = -1;
  if (peer_port) {
    addr.sin_port = htons(atoi(peer_port));
    const char *host = getenv("SCTP_BENCH_HOST");  // default 127.0.0.1
    if (host) inet_pton(AF_INET, host, &addr.sin_addr);
  } else {
    lfd = open_socket(nodelay);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0) die("bind");
    if (listen(lfd, 128) < 0) die("listen");
    socklen_t len = sizeof(addr);
    getsockname(lfd, (struct sockaddr *)&addr, &len);
    if (serve_only) {
      printf("%d\n", ntohs(addr.sin_port));
      fflush(stdout);
    }
  }

  const char *warmup_text = getenv("SCTP_BENCH_WARMUP");
  long warmup = warmup_text ? atol(warmup_text) : 0;
  pid_t server = peer_port ? -1 : serve_only ? 0 : fork();
  if (server == 0) {
    // Server: rate -> count messages then answer "done"; pingpong -> echo; setup -> accept.
    for (long served = 0; strcmp(mode, "setup") != 0 ? served < 1 : served < count; served++) {
      int fd = accept(lfd, NULL, NULL);
      if (fd < 0) die("accept");
      if (strncmp(mode, "rate", 4) == 0) {
        for (long got = 0; got < warmup; got++) {
          if (receive_message(fd, buf, 65536) <= 0) die("recv");
        }
        if (warmup > 0) send(fd, "w", 1, 0);
        struct cpu_time first = {0, 0};
        for (long got = 0; got < count;) {
          ssize_t n = receive_message(fd, buf, 65536);
          if (n <= 0) die("recv");
          if (got++ == 0) first = cpu_now();
        }
        // "done", with the CPU time from the first message to the last for the report (all,
        // then system).
        struct cpu_time last = cpu_now();
        int reply =
            snprintf(buf, 64, "%.0f %.0f", last.all - first.all, last.system - first.system);
        send(fd, buf, reply, 0);
      } else if (strcmp(mode, "pingpong") == 0) {
        for (long i = 0; i < count; i++) {
          ssize_t n = receive_message(fd, buf, 65536);
          if (n <= 0) die("recv");
          send_message(fd, buf, n, 0);
        }
      }
      char c;
      recv(fd, &c, 1, 0);  // until the client closes
      close(fd);
    }
    _exit(0);
  }
  if (lfd >= 0) close(lfd);

  double started = now(), elapsed;
  if (strcmp(mode, "setup") == 0) {
    int in_flight = size > 0 ? size : 1;  // setup's third argument
    int wait = argc > 4 && strcmp(argv[4], "wait") == 0;
    setup_associations(&addr, count, in_flight, wait);
    elapsed = now() - started;
    printf(
        "{\"impl\":\"c\",\"mode\":\"setup\",\"associations\":%ld,\"inFlight\":%d,"
        "\"close\":\"%s\",\"seconds\":%.6f,\"perSecond\":%.1f}\n",
        count, in_flight, wait ? "wait" : "nowait", elapsed, count / elapsed);
  } else {
    int fd = open_socket(nodelay);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) die("connect");
    if (warmup > 0 && strncmp(mode, "rate", 4) == 0) {
      for (long i = 0; i < warmup; i++) {
        if (send_message(fd, buf, size, 0) != size) die("send");
      }
      if (recv(fd, buf, 63, 0) <= 0) die("recv warm-up reply");
    }
    started = now();
    struct cpu_time start_cpu = cpu_now();
    if (strncmp(mode, "rate", 4) == 0) {
      int nonblocking = strcmp(mode, "rate-nb") == 0;
      long waits = 0;
      int ep = epoll_create1(0);
      struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
      if (nonblocking) epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
      int bursts = strcmp(mode, "rate-mmsg") == 0;
      if (bursts) send_bursts(fd, buf, size, count);
      for (long i = 0; i < count && !bursts; i++) {
        int flags = nonblocking ? MSG_DONTWAIT : 0;
        ssize_t n;
        while ((n = send_message(fd, buf, size, flags)) < 0 && errno == EAGAIN) {
          waits++;
          epoll_wait(ep, &ev, 1, -1);  // as libuv does: wait until the socket is writable
        }
        if (n != size) die("send");
      }
      struct cpu_time sent = cpu_now();
      double send_cpu = sent.all - start_cpu.all;
      double send_system_cpu = sent.system - start_cpu.system;
      ssize_t reply = recv(fd, buf, 63, 0);
      if (reply <= 0) die("recv done");
      buf[reply] = 0;
      double receive_cpu = 0, receive_system_cpu = 0;
      sscanf(buf, "%lf %lf", &receive_cpu, &receive_system_cpu);
      if (nonblocking) fprintf(stderr, "rate-nb: %ld waits for EPOLLOUT\n", waits);
      elapsed = now() - started;
      printf(
          "{\"impl\":\"c\",\"mode\":\"%s\",\"messages\":%ld,\"size\":%d,\"noDelay\":%s,"
          "\"buffer\":%d,\"seconds\":%.6f,\"perSecond\":%.1f,\"mbitPerS\":%.2f,"
          "\"senderCpuPerMessage\":%.3f,\"receiverCpuPerMessage\":%.3f,"
          "\"senderSystemCpuPerMessage\":%.3f,\"receiverSystemCpuPerMessage\":%.3f}\n",
          mode, count, size, nodelay ? "true" : "false", buffer_size, elapsed, count / elapsed,
          count * (double)size * 8 / elapsed / 1e6, send_cpu / count, receive_cpu / count,
          send_system_cpu / count, receive_system_cpu / count);
    } else {
      double *rtt = calloc(count, sizeof(double));
      for (long i = 0; i < count; i++) {
        double t = now();
        if (send_message(fd, buf, size, 0) != size) die("send");
        if (receive_message(fd, buf, 65536) <= 0) die("recv");
        rtt[i] = (now() - t) * 1000;
      }
      elapsed = now() - started;
      double cpu = cpu_now().all - start_cpu.all;
      qsort(rtt, count, sizeof(double), cmp);
      printf(
          "{\"impl\":\"c\",\"mode\":\"pingpong\",\"roundTrips\":%ld,\"size\":%d,\"seconds\":%.6f,"
          "\"p50Ms\":%.4f,\"p99Ms\":%.4f,\"clientCpuPerRoundTrip\":%.3f}\n",
          count, size, elapsed, rtt[count / 2], rtt[(long)(count * 0.99)], cpu / count);
    }
    close(fd);
  }
  int status;
  if (server > 0) waitpid(server, &status, 0);
  return 0;
}
