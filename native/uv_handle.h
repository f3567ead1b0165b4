// A uv_poll_t owned by a socket: closed with uv_close and freed only in the close callback,
// so a destructor never frees memory libuv still uses.
#pragma once

#include <uv.h>

#include <functional>

namespace ksctp {

class PollHandle {
 public:
  PollHandle() = default;
  PollHandle(const PollHandle&) = delete;
  PollHandle& operator=(const PollHandle&) = delete;
  ~PollHandle() { Close(); }

  // Starts the handle for `fd` on `loop`. Returns 0 or a negative libuv error.
  int Init(uv_loop_t* loop, int fd, void* data) {
    handle_ = new uv_poll_t;
    int rc = uv_poll_init_socket(loop, handle_, fd);
    if (rc != 0) {
      delete handle_;
      handle_ = nullptr;
      return rc;
    }
    handle_->data = data;
    return 0;
  }

  uv_poll_t* get() const { return handle_; }

  // Idempotent. `on_closed` runs once libuv has released the handle.
  void Close(std::function<void()> on_closed = nullptr) {
    if (!handle_) return;
    uv_poll_t* h = handle_;
    handle_ = nullptr;
    h->data = on_closed ? new std::function<void()>(std::move(on_closed)) : nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(h), [](uv_handle_t* closed) {
      auto* cb = static_cast<std::function<void()>*>(closed->data);
      delete reinterpret_cast<uv_poll_t*>(closed);
      if (cb) {
        (*cb)();
        delete cb;
      }
    });
  }

 private:
  uv_poll_t* handle_ = nullptr;
};

}  // namespace ksctp
