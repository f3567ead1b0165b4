// Per-environment state of the addon (one per main thread or worker).
#pragma once

#include <napi.h>
#include <uv.h>

#include <unordered_set>
#include <vector>

namespace ksctp {

class Socket;

// Send parameters come through one Uint32Array per environment (`sendFields`), which
// JavaScript fills before calling send()/sendMany(): numbers in a typed array cost nothing to
// pass, where seven call arguments cost a conversion each. kSendFields slots per message:
// [stream, ppid, flags, context, prPolicy, prValue, assocId]; room for kSendBatch messages.
constexpr size_t kSendFields = 7;
constexpr size_t kSendBatch = 64;

// A read batch describes entry k in the environment's readInfo Uint32Array at
// [k * kInfoStride ...]: [stream, ppid, ssn, tsn, flags, context, assocId, length]. Slot 0
// holds a marker instead of a stream (streams are 16-bit) for the entries that are not
// messages: kInfoNotification (the entry is the next of `extras`), kInfoTooLarge (a message of
// the association in slot 6, stream in slot 1, exceeded a reassembly bound and was discarded;
// no payload). Slot 7 is a length in the batch's shared bytes, or kInfoExtra.
constexpr size_t kInfoStride = 8;
constexpr uint32_t kInfoNotification = 0xffffffff;
constexpr uint32_t kInfoTooLarge = 0xfffffffe;
constexpr uint32_t kInfoExtra = 0xffffffff;
// Received messages shorter than kPoolMaxLength are copied back to back into a pool, an
// ArrayBuffer of kPoolSize bytes that JavaScript views (Buffer.from(pool, offset, length)),
// and a new pool is started when one is full: no allocation per message or per read, as
// Node's own Buffer pool. A message kept alive keeps its pool alive (at most kPoolSize).
constexpr size_t kPoolSize = 32 * 1024;
constexpr size_t kPoolMaxLength = 4096;
// recvmsg calls per wake-up before yielding to the loop (libuv reads 32 times).
constexpr int kReadBudget = 64;
// Reassembly bounds: one message, and all partial messages of one socket together.
constexpr size_t kDefaultMaxMessageSize = 64 * 1024 * 1024;
constexpr size_t kDefaultMaxPartialBytes = 128 * 1024 * 1024;

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
  // The pool that small received messages are copied into (see kPoolSize): its storage
  // and how much of it is taken. Shared by the environment's sockets, whose reads never
  // overlap.
  Napi::Reference<Napi::ArrayBuffer> pool;
  uint8_t* pool_data = nullptr;
  size_t pool_used = kPoolSize;  // full: the first message starts a pool
  // readInfo's storage (see kInfoStride): one for all sockets, as a batch is read and
  // handed to JavaScript before any other socket's.
  uint32_t* read_info = nullptr;
  Napi::Reference<Napi::Uint32Array> read_info_ref;
  // sendFields' storage (see kSendFields), and the reference that keeps it alive.
  uint32_t* send_fields = nullptr;
  Napi::Reference<Napi::Uint32Array> send_fields_ref;

  void HandleClosed();
};

}  // namespace ksctp
