// Test-only seams into the core, for the native drivers under test/native/.
//
// test_seams.h includes this file only when WORKER_WAKER_TEST_HOOKS is defined, which the addon
// builds (release and test) never do: there the seams compile to nothing and the code is
// unchanged. It lives beside the core so that the core never includes a header from test/.
// The driver sets the hooks before it starts any thread and resets them after joining them
// all, so reading them without synchronisation is race-free (thread start/join order it).
#pragma once

#include <atomic>
#include <chrono>

#include "waker_core.h"

namespace worker_waker {
namespace test_hooks {

// The racy windows the core marks with WW_TEST_WINDOW.
enum Window {
  kBeforeWait,    // Acquire: queued and checked, before the sleep
  kBeforeUnmark,  // TryUnmarkIfEmpty / TryUnmarkTasks: after the emptiness check, before the clear
  kDuringSync,    // SyncPartitionSummary: after scanning the leaves, before publishing the bitmap
  kAfterTimeout,  // Acquire: timed out and left the wait queue, before the one last try
};

// Called inside each window (nullptr: nothing). The driver sleeps or yields there so that the
// bad interleavings happen often even on two cores.
inline void (*widen)(Window window) = nullptr;

// Replaces kParkSlice. A lost wakeup is healed by the next slice (20 ms), which would hide it;
// with a long slice it becomes a hang that the driver's deadlines report.
inline std::chrono::milliseconds parkSlice = kParkSlice;

// Spins started by Waker::SpinForPermit so far, all threads together (test/native/core_unit.cc).
// Relaxed: a counter that the driver reads after joining the threads that spin.
inline std::atomic<unsigned long> spins{0};

}  // namespace test_hooks
}  // namespace worker_waker
