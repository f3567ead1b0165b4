{
  "targets": [
    {
      "target_name": "kernel_sctp",
      "sources": ["native/addon.cc", "native/socket.cc", "native/message.cc", "native/reassembler.cc", "native/notification.cc", "native/options.cc", "native/layout.cc", "native/sockaddr.cc", "native/kernel.cc", "native/convert.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"]
    }
  ]
}
