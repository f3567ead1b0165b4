#include "socket.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "convert.h"
#include "kernel.h"
#include "linux_sctp.h"
#include "notification.h"
#include "options.h"
#include "sockaddr.h"

namespace ksctp {

// A kEventRead event calls the event handler (kEventRead, count, pool, extras, offset): `count`
// entries described in the environment's readInfo (see kInfoStride in addon.h). A message shorter
// than kPoolMaxLength is `length` bytes of the ArrayBuffer `pool`, the batch's first at `offset`
// and each next one right after the one before (see kPoolSize); a longer message or a
// notification is the next element of the array `extras` (length kInfoExtra), so a long
// message does not keep a pool alive.
static constexpr int kAcceptBudget = 64;

static uint64_t ReassemblyKey(const Received& r) {
  if (!r.has_info) return 0;
  return Reassembler::Key(r.info.rcv_assoc_id, r.info.rcv_sid,
                          (r.info.rcv_flags & SCTP_UNORDERED) != 0);
}

static int64_t FieldNumber(const Notification& n, const char* name) {
  for (const auto& v : n.fields) {
    if (std::strcmp(v.name, name) == 0) return v.number;
  }
  return 0;
}

static Napi::Number Errno(Napi::Env env, int err) { return Napi::Number::New(env, -err); }
static Napi::Number Result(Napi::Env env, int rc) { return Napi::Number::New(env, rc); }

Napi::Function Socket::Define(Napi::Env env) {
  return DefineClass(env, "Socket",
                     {
                         InstanceMethod<&Socket::Bindx>("bindx"),
                         InstanceMethod<&Socket::Connectx>("connectx"),
                         InstanceMethod<&Socket::Listen>("listen"),
                         InstanceMethod<&Socket::Send>("send"),
                         InstanceMethod<&Socket::SetReading>("setReading"),
                         InstanceMethod<&Socket::SetWatchWritable>("setWatchWritable"),
                         InstanceMethod<&Socket::SetAccepting>("setAccepting"),
                         InstanceMethod<&Socket::GetOption>("getOption"),
                         InstanceMethod<&Socket::SetOption>("setOption"),
                         InstanceMethod<&Socket::Addresses>("addresses"),
                         InstanceMethod<&Socket::Peeloff>("peeloff"),
                         InstanceMethod<&Socket::Shutdown>("shutdown"),
                         InstanceMethod<&Socket::SubscribeEvents>("subscribeEvents"),
                         InstanceMethod<&Socket::AdoptSubscriptions>("adoptSubscriptions"),
                         InstanceMethod<&Socket::StreamCounts>("streamCounts"),
                         InstanceMethod<&Socket::SetReassemblyLimits>("setReassemblyLimits"),
                         InstanceMethod<&Socket::MovePartials>("movePartials"),
                         InstanceMethod<&Socket::PartialBytes>("partialBytes"),
                         InstanceMethod<&Socket::Ref>("ref"),
                         InstanceMethod<&Socket::Unref>("unref"),
                         InstanceMethod<&Socket::Close>("close"),
                         InstanceMethod<&Socket::SendMany>("sendMany"),
                         InstanceMethod<&Socket::SetEventHandler>("setEventHandler"),
                         InstanceAccessor<&Socket::GetFd>("fd"),
                     });
}

// new Socket(fd, family): wraps an open, non-blocking SCTP socket and takes ownership of it.
Socket::Socket(const Napi::CallbackInfo& info)
    : Napi::ObjectWrap<Socket>(info),
      addon_(info.Env().GetInstanceData<AddonData>()),
      fd_(info[0].As<Napi::Number>().Int32Value()),
      family_(info[1].As<Napi::Number>().Int32Value()),
      data_(kDefaultMaxMessageSize, kDefaultMaxPartialBytes),
      notifications_(kMaxNotificationSize, kMaxNotificationSize),
      async_context_(info.Env(), "SctpSocket") {
  int type = 0;
  socklen_t type_length = sizeof(type);
  if (getsockopt(fd_, SOL_SOCKET, SO_TYPE, &type, &type_length) == 0) {
    one_to_many_ = type == SOCK_SEQPACKET;
  }
  addon_->live.insert(this);
  // An open socket is never collected: it is closed explicitly (close(), environment
  // teardown), and only then may its JS object go.
  Napi::ObjectWrap<Socket>::Ref();
  self_ref_ = true;
}

Socket::~Socket() { CloseQuietly(); }

void Socket::CloseQuietly() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  reading_ = accepting_ = connecting_ = want_writable_ = false;
  if (poll_.get()) {
    AddonData* addon = addon_;
    addon->closing++;
    poll_.Close([addon] { addon->HandleClosed(); });
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  addon_->live.erase(this);
  if (self_ref_) {
    self_ref_ = false;
    // Not during teardown: the environment releases its references itself.
    if (!addon_->tearing_down) Napi::ObjectWrap<Socket>::Unref();
  }
}

int Socket::UpdatePoll() {
  if (state_ != State::kOpen) return 0;
  int events = 0;
  if (reading_ || accepting_) events |= UV_READABLE;
  if (connecting_ || want_writable_) events |= UV_WRITABLE;
  if (events == poll_events_) return 0;
  if (events != 0 && !poll_.get()) {
    int rc = poll_.Init(addon_->loop, fd_, this);
    if (rc != 0) return rc;
    if (unref_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_.get()));
  }
  if (!poll_.get()) return 0;
  int rc = events == 0 ? uv_poll_stop(poll_.get()) : uv_poll_start(poll_.get(), events, OnPoll);
  poll_events_ = rc == 0 ? events : -1;
  return rc;  // libuv errors are -errno on Unix
}

void Socket::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<Socket*>(handle->data);
  if (!self || self->state_ != State::kOpen || self->addon_->tearing_down) return;
  napi_handle_scope raw_scope;
  if (napi_open_handle_scope(self->Env(), &raw_scope) != napi_ok) return;
  if (!self->CanCallJs()) {
    napi_close_handle_scope(self->Env(), raw_scope);
    return;
  }
  // node-addon-api calls below throw C++ exceptions if the environment fails under them;
  // none may escape into libuv.
  try {
    self->HandlePoll(status, events);
  } catch (const std::exception&) {
    // Napi::Error, or std::bad_alloc from an allocation a peer's sizes asked for: the event
    // is lost, the process is not (an exception escaping into libuv would terminate it).
  }
  napi_close_handle_scope(self->Env(), raw_scope);
}

void Socket::HandlePoll(int status, int events) {
  if (status < 0) {
    // POLLERR: libuv stops the handle and reports UV_EBADF, but the socket simply has an
    // error pending (e.g. ECONNRESET after an ABORT). Drain what is queued first: recvmsg
    // may then return the error after the last message and the COMM_LOST notification,
    // but a read can also take it silently (the kernel's SCTP_NXTINFO peek of an emptied
    // queue clears it): COMM_LOST says what happened either way (lostErrno in JS).
    poll_events_ = -1;  // libuv stopped the handle: resynchronise below
    if (connecting_) {
      OnWritable();  // reports SO_ERROR as the connect outcome
    } else if (reading_) {
      OnReadable();
    } else if (accepting_) {
      OnAcceptable();
    } else {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) Emit(kEventError, Errno(Env(), err));
    }
    if (state_ == State::kOpen) UpdatePoll();
    return;
  }
  if ((events & UV_WRITABLE) && state_ == State::kOpen) OnWritable();
  if ((events & UV_READABLE) && state_ == State::kOpen) {
    if (accepting_) {
      OnAcceptable();
    } else if (reading_) {
      OnReadable();
    }
  }
}

// Calls the event handler (kind, value, pool, extras, offset) through the C API, so that no failure
// can turn into a C++ exception inside a libuv callback: a JS exception becomes
// 'uncaughtException', and an environment that can no longer run JS (a terminating worker) is
// simply not called.
void Socket::Emit(EventKind kind, napi_value value, napi_value bytes, napi_value extras,
                  napi_value offset) {
  if (on_event_.IsEmpty()) return;
  napi_env env = Env();
  napi_value callback = on_event_.Value();
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_value argv[5] = {nullptr, value ? value : undefined, bytes ? bytes : undefined,
                        extras ? extras : undefined, offset ? offset : undefined};
  napi_create_int32(env, kind, &argv[0]);
  napi_value result;
  if (napi_make_callback(env, async_context_, Value(), callback, 5, argv, &result) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);
    }
  }
}

// True while this environment can still run JavaScript (false in a terminating worker): Node's
// napi_strict_equals checks that first, and costs nothing else.
bool Socket::CanCallJs() {
  napi_value self = Value();
  bool same = false;
  return napi_strict_equals(Env(), self, self, &same) == napi_ok;
}

// setEventHandler(fn | undefined): the callback every event goes to (see Emit).
Napi::Value Socket::SetEventHandler(const Napi::CallbackInfo& info) {
  if (info[0].IsFunction()) {
    on_event_ = Napi::Persistent(info[0].As<Napi::Function>());
  } else {
    on_event_.Reset();
  }
  return info.Env().Undefined();
}

void Socket::OnWritable() {
  if (connecting_) {
    connecting_ = false;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    UpdatePoll();
    Emit(kEventConnect, Errno(Env(), err));
    return;
  }
  if (want_writable_) {
    want_writable_ = false;
    UpdatePoll();
    Emit(kEventWritable, nullptr);
  }
}

void Socket::OnAcceptable() {
  Napi::Env env = Env();
  Napi::Array fds = Napi::Array::New(env);
  int error = 0;
  for (int i = 0; i < kAcceptBudget; i++) {
    int fd = accept4(fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) error = errno;
      break;
    }
    fds.Set(fds.Length(), fd);
  }
  if (fds.Length() > 0) Emit(kEventAccept, fds);
  if (error != 0 && state_ == State::kOpen) Emit(kEventError, Errno(env, error));
}

void Socket::OnReadable() {
  Napi::Env env = Env();
  std::vector<uint8_t>& buffer = addon_->receive_buffer;
  AddonData& pool = *addon_;             // see kEventRead above
  size_t batch_offset = pool.pool_used;  // where the batch's first pooled message starts
  Napi::Array extras;
  uint32_t count = 0;  // entries in the batch
  uint32_t extra_count = 0;
  int error = 0;
  bool ended = false;
  uint32_t* infos = addon_->read_info;

  // Writes entry `count`'s receive info; the caller says where its payload is (slot 7).
  auto next_entry = [&](const Received& r, bool is_notification) {
    const sctp_rcvinfo& i = r.info;
    bool info = r.has_info && !is_notification;
    uint32_t* out = infos + count++ * kInfoStride;
    out[0] = is_notification ? kInfoNotification : info ? i.rcv_sid : 0;
    out[1] = info ? i.rcv_ppid : 0;
    out[2] = info ? i.rcv_ssn : 0;
    out[3] = info ? i.rcv_tsn : 0;
    out[4] = info ? i.rcv_flags : 0;
    out[5] = info ? i.rcv_context : 0;
    out[6] = r.has_info ? static_cast<uint32_t>(i.rcv_assoc_id) : 0;
    return out;
  };
  auto push_extra = [&](napi_value value) {
    if (extras.IsEmpty()) extras = Napi::Array::New(env);
    extras.Set(extra_count++, value);
  };
  // Hands the batch to JavaScript, the shared state reset first: the loop may go on after.
  auto emit_batch = [&]() {
    if (count == 0) return;
    napi_value shared = nullptr;
    napi_value offset = nullptr;
    if (pool.pool_used > batch_offset) {
      shared = pool.pool.Value();
      offset = Napi::Number::New(env, static_cast<double>(batch_offset));
    }
    napi_value list = extras.IsEmpty() ? nullptr : static_cast<napi_value>(extras);
    napi_value entries = Napi::Number::New(env, count);
    batch_offset = pool.pool_used;
    extras = Napi::Array();
    count = extra_count = 0;
    Emit(kEventRead, entries, shared, list, offset);
  };
  // Room for `length` bytes in the pool: when it is full, the batch so far goes to JavaScript
  // (its messages are in that pool) and a new pool starts. False: the socket closed meanwhile.
  auto pool_room = [&](size_t length) {
    if (pool.pool_used + length <= kPoolSize) return true;
    if (pool.pool_used > batch_offset) {
      emit_batch();
      if (state_ != State::kOpen) return false;
    }
    Napi::ArrayBuffer fresh = Napi::ArrayBuffer::New(env, kPoolSize);
    pool.pool = Napi::Persistent(fresh);
    pool.pool_data = static_cast<uint8_t*>(fresh.Data());
    pool.pool_used = batch_offset = 0;
    return true;
  };

  // Before every entry: a batch that is full (evicted messages add entries that take no
  // read of their own) goes to JavaScript first. False: the socket closed meanwhile.
  auto room = [&]() {
    if (count < kReadBudget) return true;
    emit_batch();
    return state_ == State::kOpen;
  };

  // A message too long for the pool that SCTP_NXTINFO announced is read straight into a
  // Buffer of its size, which JavaScript then gets as it is (no copy out of `buffer`). Not a
  // piece that continues a partial message: the reassembler copies that one anyway.
  sctp_nxtinfo next{};
  for (int i = 0; i < kReadBudget; i++) {
    if (!reading_) break;  // JavaScript paused reading during a batch emitted early
    if (!room()) return;
    Napi::Buffer<uint8_t> direct;
    uint8_t* into = buffer.data();
    size_t capacity = buffer.size();
    if (next.nxt_length >= kPoolMaxLength && next.nxt_length <= data_.MaxMessageSize() &&
        !(next.nxt_flags & SCTP_NOTIFICATION) &&
        !data_.Holds(Reassembler::Key(next.nxt_assoc_id, next.nxt_sid,
                                      (next.nxt_flags & SCTP_UNORDERED) != 0))) {
      direct = Napi::Buffer<uint8_t>::New(env, next.nxt_length);
      into = direct.Data();
      capacity = next.nxt_length;
    }
    Received r = ReceiveMessage(fd_, into, capacity);
    // After a read that filled the buffer without ending the message, NXTINFO describes the
    // message after it, not the rest of this one (which the next read gets).
    bool filled =
        r.length >= 0 && static_cast<size_t>(r.length) == capacity && !(r.flags & MSG_EOR);
    next = r.has_next && !filled ? r.next : sctp_nxtinfo{};
    if (r.length < 0) {
      if (r.length != -EAGAIN && r.length != -EWOULDBLOCK) error = static_cast<int>(-r.length);
      break;
    }
    if (r.length == 0 && !(r.flags & MSG_NOTIFICATION)) {
      ended = true;
      break;
    }
    bool eor = (r.flags & MSG_EOR) != 0;
    if (r.flags & MSG_NOTIFICATION) {
      auto result = notifications_.Add(0, into, r.length, eor);
      if (result == Reassembler::Result::kTooLarge) {
        next_entry(r, true)[7] = kInfoExtra;
        push_extra(OversizedNotificationToJs(env, notifications_.MaxMessageSize()));
        continue;
      }
      if (result != Reassembler::Result::kComplete) continue;
      Notification parsed;
      bool ok = ParseNotification(notifications_.Data(), notifications_.Size(), &parsed);
      if (ok) DropPartialsFor(parsed);
      next_entry(r, true)[7] = kInfoExtra;
      push_extra(NotificationToJs(env, parsed, ok, notifications_.Data(), notifications_.Size()));
      notifications_.Consume();
      if (knows_next_ && !r.has_next) break;
      continue;
    }
    // Whatever was read, wherever: the reassembler copies a piece only when it is not a whole
    // message, so what NXTINFO said matters for speed, never for what is delivered.
    auto result = data_.Add(ReassemblyKey(r), into, r.length, eor);
    if (result == Reassembler::Result::kTooLarge) {
      // Reported once per oversized message, in order with the association's other
      // entries; reading goes on (later messages are fine).
      uint32_t* out = next_entry(r, false);
      out[1] = out[0];
      out[0] = kInfoTooLarge;
      out[7] = 0;
    } else if (result == Reassembler::Result::kComplete) {
      bool pooled = data_.Size() < kPoolMaxLength;
      if (pooled && !pool_room(data_.Size())) return;
      uint32_t* out = next_entry(r, false);
      if (pooled) {
        std::memcpy(pool.pool_data + pool.pool_used, data_.Data(), data_.Size());
        pool.pool_used += data_.Size();
        out[7] = static_cast<uint32_t>(data_.Size());
      } else if (data_.Data() == into && data_.Size() == capacity && !direct.IsEmpty()) {
        out[7] = kInfoExtra;
        push_extra(direct);
      } else {
        out[7] = kInfoExtra;
        push_extra(Napi::Buffer<uint8_t>::Copy(env, data_.Data(), data_.Size()));
      }
      data_.Consume();
    }
    if (!data_.Evicted().empty()) {
      // Other associations' messages were discarded to make room: each is too large now.
      std::vector<uint64_t> evicted;
      evicted.swap(data_.Evicted());
      for (uint64_t key : evicted) {
        if (!room()) return;
        uint32_t* out = infos + count++ * kInfoStride;
        std::fill(out, out + kInfoStride, 0);
        out[0] = kInfoTooLarge;
        out[1] = static_cast<uint16_t>(key);
        out[6] = static_cast<uint32_t>(Reassembler::AssocOf(key));
      }
    }
    if (result == Reassembler::Result::kComplete && knows_next_ && !r.has_next) {
      break;  // the queue is empty: no read for EAGAIN
    }
  }

  emit_batch();
  if (state_ != State::kOpen) return;
  if (ended) {
    reading_ = false;
    UpdatePoll();
    Emit(kEventEnd, nullptr);
  } else if (error != 0) {
    Emit(kEventError, Errno(env, error));
  }
}

// What the kernel will not complete any more is dropped: a partial delivery it aborted, and
// everything of an association that ended or restarted (its TSNs start again).
void Socket::DropPartialsFor(const Notification& n) {
  // Keys carry the association id the kernel reports on one-to-one sockets too.
  auto assoc = static_cast<int32_t>(FieldNumber(n, "assocId"));
  if (n.type == SCTP_PARTIAL_DELIVERY_EVENT) {
    if (FieldNumber(n, "indication") != SCTP_PARTIAL_DELIVERY_ABORTED) return;
    // Without interleaving the kernel reports stream 0 whichever stream it was, and an
    // association has one partial delivery at a time; only with I-DATA can it have several,
    // and then the stream (and pdapi_flags' unordered bit) name the one.
    if (data_.PendingOf(assoc) > 1) {
      data_.Drop(Reassembler::Key(assoc, FieldNumber(n, "stream") & 0xffff, (n.flags & 1) != 0));
    } else {
      data_.DropAssociation(assoc);
    }
  } else if (n.type == SCTP_ASSOC_CHANGE && FieldNumber(n, "state") != SCTP_COMM_UP) {
    data_.DropAssociation(assoc);
  }
}

// bindx(hosts: string[], port, remove: boolean) -> 0 | -errno
Napi::Value Socket::Bindx(const Napi::CallbackInfo& info) {
  uint16_t port = static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value());
  return Result(info.Env(),
                BindAddresses(fd_, family_, StringArray(info[0]), port, info[2].ToBoolean()));
}

// connectx(hosts: string[], port) -> [0 | -errno, assocId]. On a one-to-one socket
// -EINPROGRESS starts polling for the outcome, reported as a kEventConnect; a one-to-many
// socket reports it as an ASSOC_CHANGE notification (COMM_UP or CANT_STR_ASSOC) instead.
Napi::Value Socket::Connectx(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint16_t port = static_cast<uint16_t>(info[1].As<Napi::Number>().Uint32Value());
  ConnectResult r = ConnectAddresses(fd_, family_, StringArray(info[0]), port);
  if (r.error == EINPROGRESS && !one_to_many_) {
    connecting_ = true;
    int rc = UpdatePoll();
    if (rc != 0) r.error = -rc;
  }
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, Errno(env, r.error));
  result.Set(1u, r.assoc_id);
  return result;
}

Napi::Value Socket::Listen(const Napi::CallbackInfo& info) {
  int backlog = info[0].As<Napi::Number>().Int32Value();
  return Napi::Number::New(info.Env(), ::listen(fd_, backlog) < 0 ? -errno : 0);
}

// Message k's send parameters from the environment's sendFields (see kSendFields).
static SendInfo SendFieldsAt(const uint32_t* fields, size_t k) {
  const uint32_t* f = fields + k * kSendFields;
  SendInfo s;
  s.stream = static_cast<uint16_t>(f[0]);
  s.ppid = f[1];
  s.flags = static_cast<uint16_t>(f[2]);
  s.context = f[3];
  s.pr_policy = static_cast<uint16_t>(f[4]);
  s.pr_value = f[5];
  s.assoc_id = static_cast<int32_t>(f[6]);
  return s;
}

// send(data, toHost?, toPort?) -> bytes | -errno, with the parameters in sendFields[0..5].
// A destination address (one-to-many) sets up an association implicitly when none exists.
Napi::Value Socket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (state_ != State::kOpen) return Errno(env, EBADF);
  Napi::Uint8Array data = info[0].As<Napi::Uint8Array>();
  SendInfo s = SendFieldsAt(addon_->send_fields, 0);
  sockaddr_storage to;
  socklen_t to_length = 0;
  if (info.Length() > 2 && info[1].IsString()) {
    uint16_t port = static_cast<uint16_t>(info[2].As<Napi::Number>().Uint32Value());
    to_length = ToSockaddr(info[1].As<Napi::String>().Utf8Value(), port, family_, &to);
    if (to_length == 0) return Errno(env, EAFNOSUPPORT);
  }
  ssize_t n = SendMessage(fd_, data.Data(), data.ByteLength(), s,
                          to_length ? reinterpret_cast<sockaddr*>(&to) : nullptr, to_length);
  return Napi::Number::New(env, static_cast<double>(n));
}

// sendMany(messages: Uint8Array[]) -> how many were sent, or -errno when the first could not
// be; message k's parameters are in sendFields at k * kSendFields. One sendmmsg call for up
// to kSendBatch messages: the queue a full send buffer left behind goes out in one crossing
// and one syscall instead of one per message.
Napi::Value Socket::SendMany(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (state_ != State::kOpen) return Errno(env, EBADF);
  Napi::Array list = info[0].As<Napi::Array>();
  size_t count = std::min<size_t>(list.Length(), kSendBatch);
  SendInfo infos[kSendBatch];
  iovec data[kSendBatch];
  for (size_t i = 0; i < count; i++) {
    Napi::Uint8Array bytes = list.Get(i).As<Napi::Uint8Array>();
    data[i] = {bytes.Data(), bytes.ByteLength()};
    infos[i] = SendFieldsAt(addon_->send_fields, i);
  }
  return Napi::Number::New(env, SendMessages(fd_, infos, data, count));
}

// setReading / setWatchWritable / setAccepting(on) -> 0 | -errno (libuv could not poll)
Napi::Value Socket::SetReading(const Napi::CallbackInfo& info) {
  reading_ = info[0].ToBoolean();
  if (addon_->receive_buffer.empty()) addon_->receive_buffer.resize(256 * 1024);
  return Napi::Number::New(info.Env(), UpdatePoll());
}

Napi::Value Socket::SetWatchWritable(const Napi::CallbackInfo& info) {
  want_writable_ = info[0].ToBoolean();
  return Napi::Number::New(info.Env(), UpdatePoll());
}

Napi::Value Socket::SetAccepting(const Napi::CallbackInfo& info) {
  accepting_ = info[0].ToBoolean();
  return Napi::Number::New(info.Env(), UpdatePoll());
}

// getOption(name, input?) -> object | -errno. `input` carries the fields the kernel reads
// (assocId, address).
Napi::Value Socket::GetOption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const SocketOption* option = FindOption(info[0].As<Napi::String>().Utf8Value());
  if (!option) return Errno(env, ENOPROTOOPT);
  const Layout& layout = option->layout;
  // Room for the longest list the structure may end with (the kernel refuses less room).
  std::vector<uint8_t> buffer(StructSize(layout, layout.tail ? layout.tail->max : 0), 0);
  if (info[1].IsObject()) EncodeInput(layout, family_, info[1].As<Napi::Object>(), buffer.data());
  socklen_t len = static_cast<socklen_t>(buffer.size());
  if (getsockopt(fd_, option->level, option->optname, buffer.data(), &len) < 0) {
    return Errno(env, errno);
  }
  Napi::Object out = ValuesToJs(env, DecodeFields(layout, buffer.data()), Napi::Object::New(env));
  if (layout.tail) {
    out.Set(layout.tail->name, TailToJs(env, layout, DecodeTail(layout, buffer.data(), len)));
  }
  return out;
}

// setOption(name, value: object) -> 0 | -errno. Fields left out are sent as zero, which the
// kernel reads as "leave unchanged" for most structures.
Napi::Value Socket::SetOption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const SocketOption* option = FindOption(info[0].As<Napi::String>().Utf8Value());
  if (!option) return Errno(env, ENOPROTOOPT);
  const Layout& layout = option->layout;
  Napi::Object input = info[1].As<Napi::Object>();
  std::vector<uint32_t> tail = TailFromJs(layout, input);
  std::vector<uint8_t> buffer(StructSize(layout, tail.size()), 0);
  EncodeInput(layout, family_, input, buffer.data());
  EncodeTail(layout, tail, buffer.data());
  int rc = setsockopt(fd_, option->level, option->optname, buffer.data(),
                      static_cast<socklen_t>(buffer.size()));
  return Napi::Number::New(env, rc < 0 ? -errno : 0);
}

// addresses(peer: boolean, assocId) -> [{address, family, port}] | -errno
Napi::Value Socket::Addresses(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<Address> list;
  int rc = ReadAddresses(fd_, info[0].ToBoolean(), info[1].As<Napi::Number>().Int32Value(), &list);
  if (rc < 0) return Result(env, rc);
  Napi::Array out = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); i++) out.Set(i, AddressToJs(env, list[i]));
  return out;
}

// peeloff(assocId) -> fd | -errno: the association moves to a new one-to-one socket.
Napi::Value Socket::Peeloff(const Napi::CallbackInfo& info) {
  return Result(info.Env(), PeelOff(fd_, info[0].As<Napi::Number>().Int32Value()));
}

// movePartials(assocId, socket): the pieces already read of an association's messages go
// with it to the socket it was peeled off to, where the rest of them will arrive.
Napi::Value Socket::MovePartials(const Napi::CallbackInfo& info) {
  Socket* to = Napi::ObjectWrap<Socket>::Unwrap(info[1].As<Napi::Object>());
  data_.MoveAssociation(info[0].As<Napi::Number>().Int32Value(), &to->data_);
  return info.Env().Undefined();
}

// partialBytes() -> bytes held in messages not yet complete.
Napi::Value Socket::PartialBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(data_.HeldBytes()));
}

Napi::Value Socket::Shutdown(const Napi::CallbackInfo& info) {
  int how = info[0].As<Napi::Number>().Int32Value();
  return Napi::Number::New(info.Env(), ::shutdown(fd_, how) < 0 ? -errno : 0);
}

// subscribeEvents(senderDry: boolean) -> 0 | -errno (see SubscribeEvents in kernel.h).
Napi::Value Socket::SubscribeEvents(const Napi::CallbackInfo& info) {
  return Result(info.Env(), ksctp::SubscribeEvents(fd_, info[0].ToBoolean(), &knows_next_));
}

// adoptSubscriptions() -> 0 | -errno: an accepted socket has its listener's subscriptions
// already (see InheritedNextInfo); only what the native side keeps of them is learnt.
Napi::Value Socket::AdoptSubscriptions(const Napi::CallbackInfo& info) {
  return Result(info.Env(), ksctp::InheritedNextInfo(fd_, &knows_next_));
}

// streamCounts() -> [assocId, outbound, inbound] | -errno (see ReadStreamCounts).
Napi::Value Socket::StreamCounts(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ksctp::StreamCounts counts;
  int rc = ksctp::ReadStreamCounts(fd_, &counts);
  if (rc < 0) return Napi::Number::New(env, rc);
  Napi::Array out = Napi::Array::New(env, 3);
  out.Set(0u, Napi::Number::New(env, counts.assoc_id));
  out.Set(1u, Napi::Number::New(env, counts.outbound));
  out.Set(2u, Napi::Number::New(env, counts.inbound));
  return out;
}

// setReassemblyLimits(maxMessageSize, maxPartialBytes): validated in TypeScript.
Napi::Value Socket::SetReassemblyLimits(const Napi::CallbackInfo& info) {
  data_.SetMaxMessageSize(static_cast<size_t>(info[0].As<Napi::Number>().DoubleValue()));
  data_.SetMaxTotal(static_cast<size_t>(info[1].As<Napi::Number>().DoubleValue()));
  return info.Env().Undefined();
}

Napi::Value Socket::Ref(const Napi::CallbackInfo& info) {
  unref_ = false;
  if (poll_.get()) uv_ref(reinterpret_cast<uv_handle_t*>(poll_.get()));
  return info.Env().Undefined();
}

Napi::Value Socket::Unref(const Napi::CallbackInfo& info) {
  unref_ = true;
  if (poll_.get()) uv_unref(reinterpret_cast<uv_handle_t*>(poll_.get()));
  return info.Env().Undefined();
}

Napi::Value Socket::Close(const Napi::CallbackInfo& info) {
  CloseQuietly();
  return info.Env().Undefined();
}

Napi::Value Socket::GetFd(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), fd_);
}

}  // namespace ksctp
