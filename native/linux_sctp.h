// The kernel's SCTP API header, with what it assumes is already included. Building needs only
// the kernel's UAPI headers (linux-libc-dev); nothing from libsctp is used at build or run time.
#pragma once

// <linux/sctp.h> must come after these, so the include order is not sorted.
// clang-format off
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>
#include <linux/sctp.h>
// clang-format on
