#include "waker_core.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "test_seams.h"
#include "wait_queue.h"



namespace worker_waker {

int CountTrailingZeros(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_ctzll(x);
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_ARM64))
  unsigned long index;
  _BitScanForward64(&index, x);
  return static_cast<int>(index);
#else
  int n = 0;
  while ((x & 1) == 0) x >>= 1, ++n;
  return n;
#endif
}

int CountLeadingZeros(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_clzll(x);
#elif defined(_MSC_VER) && (defined(_M_X64) || defined(_M_ARM64))
  unsigned long index;
  _BitScanReverse64(&index, x);
  return 63 - static_cast<int>(index);
#else
  int n = 0;
  while ((x & Bit(63)) == 0) x <<= 1, ++n;
  return n;
#endif
}

namespace {


bool SpinEnabledByEnvironment() {
  const char* value = std::getenv("WORKER_WAKER_SPIN");
  return value == nullptr || std::strcmp(value, "0") != 0;
}

// Relaxed: a configuration flag; a thread that sees the old value spins (or not) once more.
std::atomic<bool> spinEnabled{SpinEnabledByEnvironment()};

thread_local SpinBackoff spinBackoff;

}  // namespace

// Relaxed: see spinEnabled.
void SetSpinEnabled(bool enabled) { spinEnabled.store(enabled, std::memory_order_relaxed); }
bool SpinEnabled() { return spinEnabled.load(std::memory_order_relaxed); }

int PopCount(uint64_t x) {
#if defined(__GNUC__) || defined(__clang__)
  return __builtin_popcountll(x);
#else
  int n = 0;
  for (; x != 0; x &= x - 1) ++n;
  return n;
#endif
}

bool SpinBackoff::ShouldSpin() {
  if (skip_ == 0) return true;
  --skip_;
  return false;
}

void SpinBackoff::Record(bool foundPermit) {
  if (foundPermit) {
    failures_ = 0;
    allowed_ = kSpinFailureLimit;
    backoff_ = kSpinBackoffMin;
    return;
  }
  if (++failures_ < allowed_) return;
  // Back off; afterwards a single spin that finds nothing backs off again, for twice as long.
  failures_ = 0;
  allowed_ = 1;
  skip_ = backoff_;
  backoff_ = std::min(backoff_ * 2, kSpinBackoffMax);
}

static_assert(alignof(Cell) <= alignof(Word) && kCellsWord * 2 == kPermitsCell &&
                  kQueuedCell == kPermitsCell + 1,
              "the two cells fill word kCellsWord exactly");

void Waker::Format(Word* words) {
  // Relaxed is enough for the zeroing: the release store of the header below publishes it, and
  // every reader first checks the header with an acquire load (IsFormatted). Word kCellsWord is
  // zeroed through its two 32-bit cells: its bytes are never accessed 64 bits wide.
  for (size_t i = 0; i < kStateWords; ++i) {
    if (i != kCellsWord) words[i].store(0, std::memory_order_relaxed);
  }
  Waker waker(words);
  waker.cell(kPermitsCell).store(0, std::memory_order_relaxed);
  waker.cell(kQueuedCell).store(0, std::memory_order_relaxed);
  words[kHeaderWord].store(kHeader, std::memory_order_release);
}

bool Waker::IsFormatted(const Word* words) {
  return words[kHeaderWord].load(std::memory_order_acquire) == kHeader;
}

// ---- status word --------------------------------------------------------------------------

void Waker::SetFlags(uint64_t bits) {
  if (bits == 0) return;
  // seq_cst: a producer's fetch_or must be ordered after its own write of the signal word and
  // before its later loads, so that TryUnmarkIfEmpty's clear-then-recheck below sees one or the
  // other (a store->load pattern that acquire/release cannot order).
  uint64_t before = word(kStatusWord).fetch_or(bits, std::memory_order_seq_cst);
  uint64_t newlySet = bits & ~before;
  if (newlySet != 0) AddPermits(static_cast<uint64_t>(PopCount(newlySet)));
}

void Waker::ClearFlags(uint64_t bits) {
  // seq_cst for the same reason as SetFlags: clears take part in the clear-then-recheck order.
  word(kStatusWord).fetch_and(~bits, std::memory_order_seq_cst);
}

void Waker::MarkActive(SummaryIndex index) {
  // Fast path without any write, the common case of many producers on one word. The load is
  // seq_cst: if it sees the bit still set, that load is ordered before any consumer's clear of
  // the bit, and that consumer's recheck of the signal word then sees this producer's word
  // write (made before this call), so it re-marks. See TryUnmarkIfEmpty.
  if ((word(kStatusWord).load(std::memory_order_seq_cst) & Bit(index)) != 0) return;
  SetFlags(Bit(index));
}

void Waker::TryUnmarkIfEmpty(SummaryIndex bitIndex, const Word& signalWord) {
  // The lost-work window this closes (no false negatives):
  //   consumer                          producer
  //   load word == 0
  //                                     word |= queue bit
  //                                     MarkActive: load status, bit still set -> return
  //   clear summary bit
  //   (without the recheck, the word has work and its summary bit is clear for ever)
  // With every step seq_cst there is one total order: if the producer's status load saw the
  // bit set, it came before our clear, so its earlier word write comes before our recheck
  // below, which therefore sees the word non-empty and re-marks (one permit).
  if (signalWord.load(std::memory_order_seq_cst) != 0) return;
  WW_TEST_WINDOW(kBeforeUnmark);  // a producer may fill the word here
  uint64_t bit = Bit(bitIndex);
  uint64_t before = word(kStatusWord).fetch_and(~bit, std::memory_order_seq_cst);
  if ((before & bit) == 0) return;  // not ours to recheck: it was clear already
  if (signalWord.load(std::memory_order_seq_cst) != 0) MarkActive(bitIndex);
}

void Waker::TryUnmarkTasks() {
  if ((Status() & kPartitionFlag) == 0) return;
  WW_TEST_WINDOW(kBeforeUnmark);  // a leaf may be marked here
  uint64_t before = word(kStatusWord).fetch_and(~kPartitionFlag, std::memory_order_seq_cst);
  if ((before & kPartitionFlag) == 0) return;
  // Same clear-then-recheck as TryUnmarkIfEmpty, against the partition bitmap: a
  // MarkPartitionLeafActive that saw the flag set before our clear must be seen here.
  if (PartitionSummary() != 0) MarkTasks();
}

IndexOrNone Waker::SummarySelect(NearestIndex nearest) const {
  uint64_t summary = Summary();
  if (summary == 0) return std::nullopt;
  // Bits at or below `nearest`; for nearest == 63, 2 << 63 wraps to 0 and 0 - 1 is all ones.
  uint64_t atOrBelow = summary & ((uint64_t{2} << nearest) - 1);
  uint64_t atOrAbove = summary & ~(Bit(nearest) - 1);
  int below = atOrBelow != 0 ? 63 - CountLeadingZeros(atOrBelow) : -1;
  int above = atOrAbove != 0 ? CountTrailingZeros(atOrAbove) : -1;
  if (below < 0) return static_cast<unsigned>(above);
  if (above < 0) return static_cast<unsigned>(below);
  int target = static_cast<int>(nearest.value);
  return static_cast<unsigned>(target - below <= above - target ? below : above);
}

std::optional<std::chrono::steady_clock::time_point> DeadlineAfter(double ms) {
  if (!(ms <= kForeverMs)) return std::nullopt;  // Infinity and NaN too
  // ms * 1e6 <= 1e18: an exact enough double, inside int64, then an integer addition to now()
  // (the clock counts from boot or so: far below the 9.2e18 ns where int64 ends).
  std::chrono::nanoseconds wait(static_cast<int64_t>(std::max(ms, 0.0) * 1e6));
  return std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(wait);
}

// ---- permits ------------------------------------------------------------------------------

bool Waker::TryAcquire() {
  Cell& permits = cell(kPermitsCell);
  // seq_cst load: a waiter calls this after counting itself in the queued cell (wait_queue.h).
  uint32_t current = permits.load(std::memory_order_seq_cst);
  while (current != 0) {
    // seq_cst success: acquires what the releaser wrote before releasing, and keeps the order
    // with the queued cell. On failure `current` is reloaded; relaxed is enough as we only retry.
    if (permits.compare_exchange_weak(current, current - 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

bool Waker::CellHasRoomFor(uint64_t n) const {
  // seq_cst like every access to the cell; only a first check (AddToCell re-checks).
  uint32_t current = cell(kPermitsCell).load(std::memory_order_seq_cst);
  // `current` above the cap only in forged state; test it first, or the subtraction wraps.
  return current <= kMaxPermits && n <= kMaxPermits - current;
}

bool Waker::AddToCell(uint64_t n, bool saturate) {
  Cell& permits = cell(kPermitsCell);
  // Relaxed: only a first guess; the seq_cst compare-and-swap below checks it.
  uint32_t current = permits.load(std::memory_order_relaxed);
  uint32_t next;
  do {
    bool fits = current <= kMaxPermits && n <= kMaxPermits - current;
    if (!fits && !saturate) return false;
    // A plain fetch_add could wrap the 32-bit cell (after which TryAcquire would see 0 or
    // garbage for ever): saturate at kMaxPermits instead. At the cap (or above it: a forged
    // state) the value stays as it is, but the CAS still writes it, so this call orders before
    // the queued load that follows exactly like an addition.
    next = fits ? current + static_cast<uint32_t>(n) : std::max(current, kMaxPermits);
    // seq_cst success: the releaser half of the permits/queued handshake (wait_queue.h), and
    // what a TryAcquire that takes one of these permits synchronizes with. Relaxed failure:
    // `current` is only reloaded for the next try.
  } while (!permits.compare_exchange_weak(current, next, std::memory_order_seq_cst,
                                          std::memory_order_relaxed));
  return true;
}

void Waker::CountQueued(int delta) {
  Cell& queued = cell(kQueuedCell);
  if (delta > 0) {
    // seq_cst: the waiter half of the permits/queued handshake (wait_queue.h).
    queued.fetch_add(static_cast<uint32_t>(delta), std::memory_order_seq_cst);
    return;
  }
  // Stops at 0 instead of wrapping: a cell scribbled to 0 must not read as 4 billion waiters.
  // seq_cst success keeps one order with the releasers' loads; failure only retries.
  uint32_t current = queued.load(std::memory_order_seq_cst);
  while (current != 0 && !queued.compare_exchange_weak(current, current - 1, std::memory_order_seq_cst,
                                                       std::memory_order_relaxed)) {
  }
}

void Waker::AddPermits(uint64_t n) { wait_queue::Deliver(*this, n, true); }

bool Waker::Release(uint64_t n) { return wait_queue::Deliver(*this, n, false); }

void Waker::Dispatch() { wait_queue::Dispatch(*this); }

bool Waker::SpinForPermit() {
  if (!SpinEnabled()) return false;
  SpinBackoff& backoff = spinBackoff;
  if (!backoff.ShouldSpin()) return false;
  WW_TEST_COUNT_SPIN();
  using Clock = std::chrono::steady_clock;
  const Clock::time_point giveUpAt = Clock::now() + kSpinBudget;
  for (unsigned poll = 1;; ++poll) {
    CpuRelax();
    // Relaxed: only a hint that a permit may be there; TryAcquire then takes it with seq_cst.
    if (cell(kPermitsCell).load(std::memory_order_relaxed) != 0 && TryAcquire()) {
      backoff.Record(true);
      return true;
    }
    if (poll % 16 == 0 && Clock::now() >= giveUpAt) break;  // reading the clock costs ~20 ns
  }
  backoff.Record(false);
  return false;
}

WaitResult Waker::Acquire(const std::chrono::steady_clock::time_point* deadline,
                          const std::function<bool()>& interrupted) {
  if (TryAcquire()) return WaitResult::kAcquired;
  // A spinning thread is not queued, so a release that lands meanwhile takes no lock and makes
  // no system call. Skipped for a zero timeout, which must not wait at all.
  if ((deadline == nullptr || *deadline > std::chrono::steady_clock::now()) && SpinForPermit()) {
    return WaitResult::kAcquired;
  }
  return wait_queue::WaitBlocked(*this, deadline, interrupted);
}

// ---- counters -----------------------------------------------------------------------------

uint64_t Waker::DecrementToZero(Word& counter) {
  uint64_t current = counter.load(std::memory_order_seq_cst);
  // Stops at 0 instead of wrapping (the original wrapped). seq_cst on success keeps counters in
  // the same order as the status word for observers; failure only retries.
  while (current != 0 && !counter.compare_exchange_weak(current, current - 1,
                                                        std::memory_order_seq_cst,
                                                        std::memory_order_relaxed)) {
  }
  return current == 0 ? 0 : current - 1;
}

uint64_t Waker::Sleepers() const {
  return word(kSleepersWord).load(std::memory_order_seq_cst) + Queued();
}

void Waker::RegisterSleeper() { word(kSleepersWord).fetch_add(1, std::memory_order_seq_cst); }
void Waker::UnregisterSleeper() { DecrementToZero(word(kSleepersWord)); }

uint64_t Waker::RegisterWorker() {
  return word(kWorkersWord).fetch_add(1, std::memory_order_seq_cst) + 1;
}
uint64_t Waker::UnregisterWorker() { return DecrementToZero(word(kWorkersWord)); }

// ---- partition ----------------------------------------------------------------------------

bool Waker::SyncPartitionSummary(const Word* leaves, size_t count) {
  // Scan, publish the whole word, then re-read every leaf the scan saw as empty. Replacing the
  // whole word drops stale bits, inside the range and outside it (the original kept those, so
  // the flag could stick). The store may erase a bit that a scheduler set meanwhile for a leaf
  // we read as empty; the re-read puts it back. That is the clear-then-recheck of
  // TryUnmarkIfEmpty, for a whole word at once:
  //   scheduler                           sync
  //                                       scan: load leaf i == 0
  //   store leaf i (non-empty)
  //   fetch_or bit i (MarkPartitionLeafActive)
  //                                       store bitmap (bit i clear)
  //                                       re-read leaf i
  // All seq_cst, so all in one total order. If the scheduler's fetch_or comes after our store,
  // bit i survives it. If it comes before, its leaf store came before it, so before our store
  // and before our re-read, which sees the leaf non-empty (or a drainer emptied it since, and
  // then the drainer's own ClearPartitionLeaf-then-recheck is in charge) and sets bit i again.
  // A compare-and-swap of the word instead of the store (and a rescan when it changed) would
  // not spare the re-read: when bit i is already set (a stale bit, as between a drainer's
  // exchange of the leaf and its ClearPartitionLeaf), the scheduler's fetch_or changes nothing
  // and the CAS cannot see it. With the re-read the CAS adds no guarantee, only retries, so a
  // plain store it is. Bits at or above `count` have no leaf here and are dropped unchecked:
  // marking them is the caller's mistake (they are outside the range it syncs).
  uint64_t bitmap = 0;
  for (size_t i = 0; i < count; ++i) {
    if (leaves[i].load(std::memory_order_seq_cst) != 0) bitmap |= Bit(static_cast<unsigned>(i));
  }
  WW_TEST_WINDOW(kDuringSync);  // a leaf read as empty may be filled and marked here
  Word& partition = word(kPartitionWord);
  // seq_cst: the store of the handshake above, and ordered before the flag update below, which
  // TryUnmarkTasks rechecks against.
  partition.store(bitmap, std::memory_order_seq_cst);
  uint64_t refilled = 0;
  for (size_t i = 0; i < count; ++i) {
    uint64_t bit = Bit(static_cast<unsigned>(i));
    // seq_cst: the re-read of the handshake above, ordered after our store.
    if ((bitmap & bit) == 0 && leaves[i].load(std::memory_order_seq_cst) != 0) refilled |= bit;
  }
  // seq_cst like MarkPartitionLeafActive's fetch_or, whose work this is (one RMW for every
  // refilled leaf). A leaf drained again since our re-read keeps a stale bit: a false positive.
  if (refilled != 0) partition.fetch_or(refilled, std::memory_order_seq_cst);
  // The flag follows what this sync found (scan and re-read together): set when some leaf has
  // work (a permit only if it was clear), else cleared through TryUnmarkTasks, which re-marks
  // it if a concurrent mark set a bit meanwhile.
  bool anyWork = (bitmap | refilled) != 0;
  if (anyWork) {
    MarkTasks();
  } else {
    TryUnmarkTasks();
  }
  return anyWork;
}

bool Waker::MarkPartitionLeafActive(LeafIndex leaf) {
  // seq_cst: pairs with TryUnmarkTasks' clear-then-recheck of this word.
  uint64_t before = word(kPartitionWord).fetch_or(Bit(leaf), std::memory_order_seq_cst);
  if (before != 0) return false;
  MarkTasks();
  return true;
}

void Waker::ClearPartitionLeaf(LeafIndex leaf) {
  uint64_t bit = Bit(leaf);
  uint64_t before = word(kPartitionWord).fetch_and(~bit, std::memory_order_seq_cst);
  if (before == bit) TryUnmarkTasks();  // it was set and it was the last one
}

}  // namespace worker_waker
