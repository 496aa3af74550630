# native/core/: the Node-free core (status word, permits, wait queue); native/node/: the Node-API glue.
# The package ships this file as native/binding.gyp (see prepack), and bin/worker-waker-build.js copies
# it back to the package root before it builds, so every path here is relative to the package root.
{
  "variables": {
    # 1 adds the test build (npm run build:native): the release sources, compiled the same way, plus
    # native/node/test_exports.cc, the diagnostics the tests read (test/support/test-addon.js).
    # Releases leave it 0.
    "worker_waker_test%": 0
  },
  "target_defaults": {
    "sources": [
      "native/core/waker_core.cc",
      "native/core/wait_queue.cc",
      "native/node/binding.cc",
      "native/node/async_binding.cc"
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
  },
  "targets": [
    { "target_name": "worker_waker" }
  ],
  "conditions": [
    ["worker_waker_test==1", {
      "targets": [
        { "target_name": "worker_waker_test", "sources": ["native/node/test_exports.cc"] }
      ]
    }]
  ]
}
