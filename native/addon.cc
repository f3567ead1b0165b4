// Module entry: per-environment state, the live-socket registry and its teardown, and the
// few free functions (socket creation, constants).
#include "addon.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "convert.h"
#include "linux_sctp.h"
#include "notification.h"
#include "options.h"
#include "socket.h"

namespace ksctp {

void AddonData::HandleClosed() {
  closing--;
  if (tearing_down && closing == 0 && cleanup_hook) {
    napi_remove_async_cleanup_hook(cleanup_hook);
    cleanup_hook = nullptr;
  }
}

// The environment (main thread or worker) is going away: close every socket still open and
// hold the teardown until libuv has released their poll handles.
static void OnEnvironmentTeardown(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* data = static_cast<AddonData*>(arg);
  data->tearing_down = true;
  data->cleanup_hook = handle;
  std::vector<Socket*> sockets(data->live.begin(), data->live.end());
  for (Socket* s : sockets) s->CloseQuietly();
  if (data->closing == 0) {
    napi_remove_async_cleanup_hook(handle);
    data->cleanup_hook = nullptr;
  }
}

// socket(family, type) -> fd | -errno; non-blocking and close-on-exec.
static Napi::Value OpenSocket(const Napi::CallbackInfo& info) {
  int family = info[0].As<Napi::Number>().Int32Value();
  int type = info[1].As<Napi::Number>().Int32Value();
  int fd = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_SCTP);
  return Napi::Number::New(info.Env(), fd < 0 ? -errno : fd);
}

// closeFd(fd): for fds received from accept/peeloff that JavaScript decides not to wrap.
static Napi::Value CloseFd(const Napi::CallbackInfo& info) {
  ::close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

// probe() -> 0 when the kernel opens SCTP sockets, else -errno.
static Napi::Value Probe(const Napi::CallbackInfo& info) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP);
  if (fd < 0) return Napi::Number::New(info.Env(), -errno);
  ::close(fd);
  return Napi::Number::New(info.Env(), 0);
}

static Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
#define CONSTANT(name) c.Set(#name, Napi::Number::New(env, name))
  CONSTANT(AF_INET);
  CONSTANT(AF_INET6);
  CONSTANT(SOCK_STREAM);
  CONSTANT(SOCK_SEQPACKET);
  CONSTANT(SHUT_RD);
  CONSTANT(SHUT_WR);
  CONSTANT(SHUT_RDWR);
  CONSTANT(SCTP_UNORDERED);
  CONSTANT(SCTP_ADDR_OVER);
  CONSTANT(SCTP_ABORT);
  CONSTANT(SCTP_SACK_IMMEDIATELY);
  CONSTANT(SCTP_SENDALL);
  CONSTANT(SCTP_EOF);
  CONSTANT(SCTP_FUTURE_ASSOC);
  CONSTANT(SCTP_SENDER_DRY_EVENT);
  CONSTANT(SCTP_ASSOC_CHANGE);
  CONSTANT(SCTP_SHUTDOWN_EVENT);
  CONSTANT(SCTP_PARTIAL_DELIVERY_EVENT);
  CONSTANT(SCTP_STREAM_CHANGE_EVENT);
  CONSTANT(SCTP_CURRENT_ASSOC);
  CONSTANT(SCTP_ALL_ASSOC);
  CONSTANT(SCTP_PR_SCTP_TTL);
  CONSTANT(SCTP_PR_SCTP_RTX);
  CONSTANT(SCTP_PR_SCTP_PRIO);
  CONSTANT(SCTP_PR_SCTP_ALL);
  // stream reconfiguration: srs_flags of SCTP_RESET_STREAMS, SCTP_ENABLE_STREAM_RESET's value
  CONSTANT(SCTP_STREAM_RESET_INCOMING);
  CONSTANT(SCTP_STREAM_RESET_OUTGOING);
  CONSTANT(SCTP_ENABLE_RESET_STREAM_REQ);
  CONSTANT(SCTP_ENABLE_RESET_ASSOC_REQ);
  CONSTANT(SCTP_ENABLE_CHANGE_ASSOC_REQ);
  // spp_flags of SCTP_PEER_ADDR_PARAMS
  CONSTANT(SPP_HB_ENABLE);
  CONSTANT(SPP_HB_DISABLE);
  CONSTANT(SPP_HB_DEMAND);
  CONSTANT(SPP_PMTUD_ENABLE);
  CONSTANT(SPP_PMTUD_DISABLE);
  CONSTANT(SPP_SACKDELAY_ENABLE);
  CONSTANT(SPP_SACKDELAY_DISABLE);
#undef CONSTANT
  return c;
}

// The constants both sides of the native boundary use; lib/native.ts checks its own copies
// against these when the addon loads.
static Napi::Object Boundary(Napi::Env env) {
  Napi::Object b = Napi::Object::New(env);
  b.Set("infoStride", static_cast<double>(kInfoStride));
  b.Set("infoNotification", kInfoNotification);
  b.Set("infoTooLarge", kInfoTooLarge);
  b.Set("infoExtra", kInfoExtra);
  b.Set("readBudget", kReadBudget);
  b.Set("sendFields", static_cast<double>(kSendFields));
  b.Set("sendBatch", static_cast<double>(kSendBatch));
  b.Set("eventKinds", static_cast<double>(kEventKindCount));
  b.Set("defaultMaxMessageSize", static_cast<double>(kDefaultMaxMessageSize));
  b.Set("defaultMaxPartialBytes", static_cast<double>(kDefaultMaxPartialBytes));
  b.Set("maxNotificationSize", static_cast<double>(kMaxNotificationSize));
  return b;
}

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  napi_get_uv_event_loop(env, &data->loop);
  env.SetInstanceData<AddonData>(data);  // deleted with the environment
  napi_add_async_cleanup_hook(env, OnEnvironmentTeardown, data, nullptr);

  exports.Set("Socket", Socket::Define(env));
  exports.Set("socket", Napi::Function::New(env, OpenSocket));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("probe", Napi::Function::New(env, Probe));
  exports.Set("constants", Constants(env));
  Napi::Uint32Array send_fields = Napi::Uint32Array::New(env, kSendBatch * kSendFields);
  data->send_fields = send_fields.Data();
  data->send_fields_ref = Napi::Persistent(send_fields);
  exports.Set("sendFields", send_fields);
  Napi::Uint32Array read_info = Napi::Uint32Array::New(env, kReadBudget * kInfoStride);
  data->read_info = read_info.Data();
  data->read_info_ref = Napi::Persistent(read_info);
  exports.Set("readInfo", read_info);

  exports.Set("optionLayouts", OptionLayoutsToJs(env));
  exports.Set("boundary", Boundary(env));
  return exports;
}

}  // namespace ksctp

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) {
  return ksctp::Init(env, exports);
}

NODE_API_MODULE(kernel_sctp, InitModule)
