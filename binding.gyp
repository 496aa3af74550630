{
  "targets": [
    {
      "target_name": "worker_waker",
      "sources": [
        "native/binding.cc",
        "native/waker_core.cc",
        "native/wait_queue.cc",
        "native/async_binding.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags": ["-fvisibility=hidden", "-Wall", "-Wextra"],
      "cflags_cc": ["-fvisibility=hidden", "-Wall", "-Wextra"],
      "xcode_settings": {
        "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
        "WARNING_CFLAGS": ["-Wall", "-Wextra"]
      },
      # node-addon-api's except.gypi sets MACOSX_DEPLOYMENT_TARGET 10.7 and a dependency's settings
      # override the target's own; per-configuration settings are merged last, so 10.15 (Node 20's
      # own minimum) only sticks here.
      "configurations": {
        "Release": { "xcode_settings": { "MACOSX_DEPLOYMENT_TARGET": "10.15" } },
        "Debug": { "xcode_settings": { "MACOSX_DEPLOYMENT_TARGET": "10.15" } }
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1 }
      },
      "conditions": [
        ["OS=='linux'", {
          "ldflags": ["-Wl,-z,nodelete"]
        }],
        ["OS=='win'", {
          "libraries": ["Synchronization.lib"]
        }]
      ]
    }
  ]
}
