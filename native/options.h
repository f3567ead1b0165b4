// Socket options, described once: name -> level, optname and the layout of its value.
// Integer options have a single field named "value".
#pragma once

#include <string>

#include "layout.h"

namespace ksctp {

struct SocketOption {
  const char* name;  // the kernel's name, e.g. "SCTP_NODELAY"
  int level;
  int optname;
  Layout layout;
};

// nullptr when the option is not in the table.
const SocketOption* FindOption(const std::string& name);

// All options, for listing them to JavaScript.
const SocketOption* OptionTable(size_t* count);

}  // namespace ksctp
