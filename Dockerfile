# kernel-sctp in a container, for CI on hosts whose kernel has SCTP.
#
#   sudo modprobe sctp                      # on the host: containers share its kernel
#   docker build -t kernel-sctp .
#   docker run --rm --privileged kernel-sctp            # npm test
#   docker run --rm --privileged kernel-sctp npm run demo
#
# --privileged (or at least --cap-add NET_ADMIN --cap-add SYS_ADMIN) lets the tests create
# network namespaces, veth pairs and netem qdiscs. If the host kernel has no SCTP, the test
# command falls back to booting a VM inside the container (slower; scripts/setup installs
# User-Mode Linux, qemu and a kernel then).
FROM node:20-bookworm

# What scripts/setup installs (the toolchain, real SCTP peers, network tools, tshark): the
# tests must not need the network at run time.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 make g++ lksctp-tools iproute2 procps iperf3 tshark iptables \
      freediameterd freediameter-extensions rsplib-registrar rsplib-tools \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /kernel-sctp
COPY . .
# npm ci and the builds. KSCTP_MODE=native: the kernel at build time says nothing about the
# one the container will run on, so no VM packages are installed here.
RUN KSCTP_MODE=native bash scripts/setup

CMD ["npm", "test"]
