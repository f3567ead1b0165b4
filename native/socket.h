// One wrapped object per SCTP socket fd: its state, its poll handle and its syscalls.
// Every method returns a result or -errno; policy (retries, queues, errors) is TypeScript's.
#pragma once

#include <napi.h>

#include "addon.h"
#include "message.h"
#include "notification.h"
#include "reassembler.h"
#include "uv_handle.h"

namespace ksctp {

// Event kinds passed to the JavaScript `onevent(kind, value, pool, extras, offset)` callback
// (the last three for kEventRead only).
enum EventKind {
  kEventRead = 0,      // value: entry count; then the batch's bytes and extras (socket.cc)
  kEventError = 1,     // value: -errno (a failed read or accept)
  kEventWritable = 2,  // the socket accepts writes again after EAGAIN
  kEventConnect = 3,   // value: 0 or -errno, the outcome of a non-blocking connect
  kEventAccept = 4,    // value: array of new fds
  kEventEnd = 5,       // recvmsg returned 0: the association is gone (one-to-one)
  kEventKindCount = 6,
};

class Socket : public Napi::ObjectWrap<Socket> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Socket(const Napi::CallbackInfo& info);
  ~Socket() override;

  // Closes the fd and the poll handle without calling JavaScript (environment teardown).
  void CloseQuietly();

 private:
  enum class State { kOpen, kClosed };

  Napi::Value Bindx(const Napi::CallbackInfo& info);
  Napi::Value Connectx(const Napi::CallbackInfo& info);
  Napi::Value Listen(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value SendMany(const Napi::CallbackInfo& info);
  Napi::Value SetReading(const Napi::CallbackInfo& info);
  Napi::Value SetWatchWritable(const Napi::CallbackInfo& info);
  Napi::Value SetAccepting(const Napi::CallbackInfo& info);
  Napi::Value GetOption(const Napi::CallbackInfo& info);
  Napi::Value SetOption(const Napi::CallbackInfo& info);
  Napi::Value Addresses(const Napi::CallbackInfo& info);
  Napi::Value Peeloff(const Napi::CallbackInfo& info);
  Napi::Value Shutdown(const Napi::CallbackInfo& info);
  Napi::Value SubscribeEvents(const Napi::CallbackInfo& info);
  Napi::Value AdoptSubscriptions(const Napi::CallbackInfo& info);
  Napi::Value StreamCounts(const Napi::CallbackInfo& info);
  Napi::Value SetReassemblyLimits(const Napi::CallbackInfo& info);
  Napi::Value MovePartials(const Napi::CallbackInfo& info);
  Napi::Value PartialBytes(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value GetFd(const Napi::CallbackInfo& info);

  // Poll bookkeeping: the poll runs while reading, accepting, connecting or waiting for
  // writable. poll_events_ is what libuv currently watches (-1: unknown, resynchronise).
  int UpdatePoll();  // 0 or a negative libuv error
  static void OnPoll(uv_poll_t* handle, int status, int events);
  void HandlePoll(int status, int events);
  bool CanCallJs();
  void OnReadable();
  void OnAcceptable();
  void OnWritable();
  void DropPartialsFor(const Notification& n);
  void Emit(EventKind kind, napi_value value, napi_value bytes = nullptr,
            napi_value extras = nullptr, napi_value offset = nullptr);
  Napi::Value SetEventHandler(const Napi::CallbackInfo& info);

  AddonData* addon_;
  int fd_;
  int family_;
  bool one_to_many_ = false;  // SOCK_SEQPACKET: associations are set up and ended per message
  State state_ = State::kOpen;
  PollHandle poll_;
  int poll_events_ = 0;
  bool reading_ = false;
  bool accepting_ = false;
  bool connecting_ = false;
  bool want_writable_ = false;
  bool unref_ = false;
  bool knows_next_ = false;  // SCTP_RECVNXTINFO is on: reads report whether more is queued
  bool self_ref_ = false;
  Reassembler data_;
  Reassembler notifications_;
  Napi::AsyncContext async_context_;
  // JavaScript's onevent(kind, value, ...) callback, held here rather than looked up by name
  // on every event (a named lookup interns its string each time).
  Napi::FunctionReference on_event_;
};

}  // namespace ksctp
