// Test seams of the core (waker_core.cc, wait_queue.cc). The addon build never defines
// WORKER_WAKER_TEST_HOOKS: there the seams compile to nothing and the code is unchanged. With it,
// the native drivers (test/native/) set the hooks that test_hooks.h declares: they widen racy
// windows and count spins.
#pragma once

#if defined(WORKER_WAKER_TEST_HOOKS)
#include "test_hooks.h"
#define WW_TEST_WINDOW(window) \
  (test_hooks::widen != nullptr ? test_hooks::widen(test_hooks::window) : void())
#define WW_PARK_SLICE test_hooks::parkSlice
#define WW_TEST_COUNT_SPIN() (test_hooks::spins.fetch_add(1, std::memory_order_relaxed))
#else
#define WW_TEST_WINDOW(window) ((void)0)
#define WW_TEST_COUNT_SPIN() ((void)0)
#define WW_PARK_SLICE kParkSlice
#endif
