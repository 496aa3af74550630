#include "parking_lot.h"

#include <unordered_map>

namespace worker_waker {
namespace parking_lot {
namespace {

struct Lot {
  std::mutex lock;
  std::unordered_map<const void*, ParkingSpot*> spots;
};

// Never destroyed: a static destructor could run while another thread (a worker that is still
// shutting down) uses the lot.
Lot& TheLot() {
  static Lot* lot = new Lot();
  return *lot;
}

}  // namespace

ParkingSpot* Enter(const void* key) {
  Lot& lot = TheLot();
  std::lock_guard<std::mutex> guard(lot.lock);
  ParkingSpot*& spot = lot.spots[key];
  if (spot == nullptr) spot = new ParkingSpot();
  ++spot->users;
  return spot;
}

ParkingSpot* Visit(const void* key) {
  Lot& lot = TheLot();
  std::lock_guard<std::mutex> guard(lot.lock);
  auto found = lot.spots.find(key);
  if (found == lot.spots.end()) return nullptr;
  ++found->second->users;
  return found->second;
}

void Leave(const void* key, ParkingSpot* spot) {
  Lot& lot = TheLot();
  std::lock_guard<std::mutex> guard(lot.lock);
  if (--spot->users != 0) return;
  lot.spots.erase(key);
  delete spot;
}

size_t SpotCount() {
  Lot& lot = TheLot();
  std::lock_guard<std::mutex> guard(lot.lock);
  return lot.spots.size();
}

}  // namespace parking_lot
}  // namespace worker_waker
