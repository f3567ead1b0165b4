// Per-environment state of the addon (one per main thread or worker).
#pragma once

#include <napi.h>
#include <uv.h>

#include <unordered_set>
#include <vector>

namespace ksctp {

class Socket;

struct AddonData {
  uv_loop_t* loop = nullptr;
  // Every open socket, so the environment's teardown can close them all.
  std::unordered_set<Socket*> live;
  // Poll handles still being closed by libuv; teardown waits for them.
  int closing = 0;
  bool tearing_down = false;
  napi_async_cleanup_hook_handle cleanup_hook = nullptr;
  // One receive buffer for all sockets of this environment: reads are synchronous on the
  // JavaScript thread, so they never overlap.
  std::vector<uint8_t> receive_buffer;

  void HandleClosed();
};

}  // namespace ksctp
