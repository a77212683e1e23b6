{
  "targets": [
    {
      "target_name": "wakeloop",
      "sources": [
        "native/binding.cc",
        "native/io_blocker.cc",
        "native/backend_poll.cc",
        "native/registry.cc",
        "native/signals.cc",
        "native/lookup.cc",
        "native/helper_pool.cc",
        "native/owned_fds.cc",
        "native/uv_watch.cc",
        "native/sys_net.cc"
      ],
      "conditions": [
        ["OS=='linux'", { "sources": ["native/backend_epoll.cc"], "libraries": ["-ldl"] }],
        ["OS!='linux'", {
          "actions": [{
            "action_name": "no_backend",
            "inputs": [], "outputs": ["no_backend"],
            "action": ["node", "-e", "console.error('wakeloop: only Linux (epoll) is supported for now'); process.exit(1)"]
          }]
        }]
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_CPP_EXCEPTIONS",
        "NODE_ADDON_API_CPP_EXCEPTIONS_ALL",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-fvisibility=hidden", "-fvisibility-inlines-hidden"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags!": ["-fno-exceptions"]
    }
  ]
}
