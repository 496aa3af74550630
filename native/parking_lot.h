// Process-wide parking lot: one mutex + condition variable per waker state, found by the
// state's address. Threads in one process see a SharedArrayBuffer at one address, so every
// handle to the same state, in any thread, meets at the same spot.
//
// A spot exists only while some thread uses it (a parked Acquire or a Release that is waking
// one); it is freed when the last user leaves, so dropped states leave nothing behind.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>

namespace worker_waker {

struct ParkingSpot {
  std::mutex mutex;
  std::condition_variable wakeup;
  size_t users = 0;  // guarded by the lot's lock, not by `mutex`
};

namespace parking_lot {
// Finds or creates the spot for `key` and counts the caller as a user.
ParkingSpot* Enter(const void* key);
// Finds the spot for `key` and counts the caller as a user; nullptr when nobody is there.
ParkingSpot* Visit(const void* key);
// Stops counting the caller; frees the spot after its last user.
void Leave(const void* key, ParkingSpot* spot);
// Number of live spots (for leak tests).
size_t SpotCount();
}  // namespace parking_lot

}  // namespace worker_waker
