// worker-waker core: the WorkerWaker algorithm in plain C++ (no Node headers).
//
// Mental model: a waker is one 64-bit status word plus a counting semaphore.
//   bits 0-61  summary: bit i set = signal word i may have work (false positives allowed,
//              false negatives never)
//   bit 62     partition flag: tasks are waiting in this worker's partition
//   bit 63     yield flag
// Every 0->1 edge of any of those 64 bits adds exactly one permit. Consumers take permits
// (TryAcquire / Acquire) and then read the summary to find work. A permit released before
// anyone waits is remembered, so no wakeup is lost.
//
// Waiting: Acquire (and acquireAsync) that find no permit join the state's FIFO wait queue
// (native/core/wait_queue.h), and a release hands its permits to the oldest waiters directly.
//
// Memory ordering: everything a thread wrote before Release() (or before a Mark* that added a
// permit) is visible to the thread whose TryAcquire/Acquire takes that permit: either both sides
// touch the permit counter with sequentially consistent read-modify-writes, or the permit is
// handed over under the queue's mutex. The two store->load handshakes of the design (permits vs
// queued; summary bit vs signal word) use seq_cst operations on both sides; each one says why at
// its definition (wait_queue.h, waker_core.cc).
//
// Lifetime: the state lives in caller-provided memory (a SharedArrayBuffer in Node). A Waker is a
// view over it and owns nothing; the memory must outlive every call in flight on it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

namespace worker_waker {

using Word = std::atomic<uint64_t>;
static_assert(sizeof(Word) == sizeof(uint64_t), "a shared word must be a plain 64-bit word");
static_assert(Word::is_always_lock_free,
              "JS Atomics and C++ must share lock-free 64-bit atomics on the same address");
// The permit and queued counters are 32-bit cells, so that JS reaches them with an Int32Array-
// sized Atomics operation on plain Numbers instead of a BigInt per call (lib/waker.ts).
using Cell = std::atomic<uint32_t>;
static_assert(sizeof(Cell) == sizeof(uint32_t), "a shared cell must be a plain 32-bit word");
static_assert(Cell::is_always_lock_free,
              "JS Atomics and C++ must share lock-free 32-bit atomics on the same address");

// Layout of the shared state, in 64-bit words. Hot fields sit 16 words (128 bytes) apart so
// that producers and consumers do not false-share a cache line (128 covers the adjacent-line
// prefetcher on x86 and the 128-byte lines of Apple silicon).
enum StateWord : size_t {
  kHeaderWord = 0,        // kMagic | kLayoutVersion << 32, written last when formatting
  kStatusWord = 16,       // summary bits + control flags
  kCellsWord = 32,        // the two 32-bit cells below; never accessed as one 64-bit word
  kSleepersWord = 48,     // sleepers registered by RegisterSleeper
  kNotifiesWord = 49,     // blocked waiters woken by a grant so far (a statistic)
  kWorkersWord = 64,      // RegisterWorker count
  kPartitionWord = 80,    // cached partition summary (bit i = leaf start+i has work)
  kStateWords = 96,
};
constexpr size_t kStateBytes = kStateWords * sizeof(uint64_t);

// The 32-bit cells, as indices in 32-bit units (what a JS Uint32Array over the buffer uses).
// Every access to them, from C++ and from JS, is 32 bits wide: no mixed-size access anywhere.
enum StateCell : size_t {
  kPermitsCell = 2 * kCellsWord,   // byte 256: available permits
  kQueuedCell = 2 * kCellsWord + 1,  // byte 260: waiters in the state's wait queues (blocked and
                                     // async); read by every release, so it shares the line
};

constexpr uint32_t kMagic = 0x524b5757;  // "WWKR" little-endian
// 2: permits and parked moved from 64-bit words 32 and 33 to the 32-bit cells of word 32.
// 3: the parked cell became the queued cell (it counts async waiters too, and no woken thread).
constexpr uint32_t kLayoutVersion = 3;
constexpr uint64_t kHeader = uint64_t{kMagic} | (uint64_t{kLayoutVersion} << 32);

constexpr unsigned kSummaryBitCount = 62;
constexpr unsigned kPartitionBit = 62;
constexpr unsigned kYieldBit = 63;
constexpr uint64_t kSummaryMask = (uint64_t{1} << kSummaryBitCount) - 1;
constexpr uint64_t kPartitionFlag = uint64_t{1} << kPartitionBit;
constexpr uint64_t kYieldFlag = uint64_t{1} << kYieldBit;
// The permit cap, 2^31 - 1 (POSIX's SEM_VALUE_MAX is at least 32767, and is 2^31 - 1 on Linux):
// every count fits a 32-bit cell with room to spare and is a small integer (a Smi) in V8.
// Release refuses to pass it; 0->1 edges and given-back permits stop at it (saturate).
constexpr uint32_t kMaxPermits = 0x7fffffff;

constexpr uint64_t Bit(unsigned index) { return uint64_t{1} << index; }

// Argument types that carry their range, stated once here: the binding generates its argument
// checks from them (native/node/binding_args.h) and its `layout` export tells lib/ their limits.
// Inside the core they are plain numbers (the conversions are implicit both ways).
//
// An integer index in [0, kMax].
template <typename Tag, unsigned Max>
struct Index {
  static constexpr unsigned kMax = Max;
  constexpr Index(unsigned v) : value(v) {}  // NOLINT: implicit on purpose, see above
  constexpr operator unsigned() const { return value; }
  unsigned value;
};
using SummaryIndex = Index<struct SummaryIndexTag, kSummaryBitCount - 1>;  // a summary bit: 0-61
using LeafIndex = Index<struct LeafIndexTag, 63>;  // a leaf of the partition bitmap: 0-63
using NearestIndex = Index<struct NearestIndexTag, 63>;  // where a search starts: 0-63

// A set of summary bits: a mask below 2^kBits.
struct SummaryMask {
  static constexpr unsigned kBits = kSummaryBitCount;
  constexpr SummaryMask(uint64_t v) : value(v) {}  // NOLINT: implicit on purpose, see above
  constexpr operator uint64_t() const { return value; }
  uint64_t value;
};

// An index, or none (the binding returns undefined for none).
using IndexOrNone = std::optional<unsigned>;

// Tells the CPU we are in a spin-wait loop (saves power, frees the sibling hyperthread).
// Used by the blocking waits' spin (waker_core.cc) and the event loop's spin (async_binding.cc).
inline void CpuRelax() {
#if defined(_MSC_VER) && !defined(__clang__) && (defined(_M_X64) || defined(_M_IX86))
  _mm_pause();
#elif defined(_MSC_VER) && !defined(__clang__) && defined(_M_ARM64)
  __yield();
#elif defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield");
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

enum class WaitResult { kAcquired, kTimedOut, kInterrupted };

// Spinning before parking. A wake through the kernel costs 4-50 us; when the releasing thread
// runs on another core it often answers within a microsecond, so Acquire first polls the permit
// cell for up to kSpinBudget before it parks. The spin is bounded (never burns a core while
// idle) and adaptive per thread (SpinBackoff): after kSpinFailureLimit spins in a row that found
// nothing, the thread parks at once for a back-off of kSpinBackoffMin parks, then tries one spin
// again; if that one finds nothing too, the back-off doubles (up to kSpinBackoffMax) and so on,
// one spin per back-off. A spin that finds a permit starts everything afresh. Measured on the
// 2-core VM (bench/): a cross-CPU worker round trip went from ~50 us to ~1-2 us, and on one
// shared CPU the back-off keeps the cost unchanged. Turned off by the environment variable
// WORKER_WAKER_SPIN=0 or by SetSpinEnabled(false).
constexpr std::chrono::microseconds kSpinBudget{20};
constexpr unsigned kSpinFailureLimit = 8;
constexpr unsigned kSpinBackoffMin = 64;
constexpr unsigned kSpinBackoffMax = 4096;

// The adaptive half of the spin, one per thread (whether spinning pays depends on who runs
// beside that thread). Plain data, no atomics: only its own thread touches it.
class SpinBackoff {
 public:
  // Whether this wait should spin before it parks; false while backing off (and then counts
  // one of the back-off's parks).
  bool ShouldSpin();
  // What the spin that ShouldSpin() allowed found: a permit (true) or nothing (false).
  void Record(bool foundPermit);

 private:
  unsigned failures_ = 0;                  // spins in a row that found nothing
  unsigned allowed_ = kSpinFailureLimit;   // failures that start a back-off: 1 after a back-off
  unsigned skip_ = 0;                      // parks left before the next spin
  unsigned backoff_ = kSpinBackoffMin;     // the next back-off's length
};

void SetSpinEnabled(bool enabled);
bool SpinEnabled();

// How long a parked thread sleeps before it looks again at its interrupt probe (in Node: "is my
// worker being terminated?") and at the permit cell (the safety net of wait_queue.h). 20 ms
// keeps worker.terminate() of a parked worker well under 100 ms while a parked thread wakes
// only 50 times a second.
constexpr std::chrono::milliseconds kParkSlice{20};

// Timeouts above this many milliseconds (about 31.7 years) wait for ever. It keeps the
// conversion to the clock's nanoseconds (at most 1e18, inside int64) and the addition to now()
// far from overflow.
constexpr double kForeverMs = 1e12;
// The deadline `ms` (>= 0) milliseconds from now, or none (a wait without end) above kForeverMs.
std::optional<std::chrono::steady_clock::time_point> DeadlineAfter(double ms);

class Waker {
 public:
  explicit Waker(Word* words) : words_(words) {}

  // Zeroes `words` (kStateWords of them) and writes the header last.
  static void Format(Word* words);
  // True when `words` holds state written by Format (this layout version).
  static bool IsFormatted(const Word* words);

  uint64_t Status() const { return word(kStatusWord).load(std::memory_order_seq_cst); }
  uint64_t Summary() const { return Status() & kSummaryMask; }

  void MarkYield() { SetFlags(kYieldFlag); }
  void TryUnmarkYield() { ClearFlags(kYieldFlag); }
  void MarkTasks() { SetFlags(kPartitionFlag); }
  void TryUnmarkTasks();

  // Index and mask arguments are in their range (checked by the caller).
  void MarkActive(SummaryIndex index);
  void MarkActiveMask(SummaryMask mask) { SetFlags(mask); }
  void TryUnmarkIfEmpty(SummaryIndex bitIndex, const Word& signalWord);
  void TryUnmark(SummaryIndex bitIndex) { ClearFlags(Bit(bitIndex)); }
  // The set summary bit nearest to `nearest`, ties to the lower index; none when empty.
  IndexOrNone SummarySelect(NearestIndex nearest) const;

  bool TryAcquire();
  // Blocks until a permit is taken, `timeout` passes (if given), or `interrupted()` returns
  // true (polled every kParkSlice, and once after a grant: a thread that is going away passes
  // its permit on). Tries the cell, then spins, then queues (wait_queue::WaitBlocked). A
  // timed-out wait tries once more before giving up.
  WaitResult Acquire(const std::chrono::steady_clock::time_point* deadline,
                     const std::function<bool()>& interrupted);
  // Adds n permits: the oldest queued waiters get them directly, the rest go to the cell; no
  // lock and no system call when nobody is queued. False (and nothing changed) when the cell
  // would pass kMaxPermits.
  bool Release(uint64_t n);
  // Gives back n permits taken earlier by someone who could not use them (an interrupted
  // waiter, an acquireAsync grant that found no call), like Release. Never refused: permits
  // stop at kMaxPermits (only 2^31 - 1 permits left untaken can drop any).
  void ReturnPermits(uint64_t n) { AddPermits(n); }
  // The second half of a release whose permits were added to the cell by someone else (the JS
  // fast path adds them with Atomics, then sees queued != 0): hands cell permits to waiters.
  void Dispatch();
  uint64_t Permits() const { return cell(kPermitsCell).load(std::memory_order_seq_cst); }

  uint64_t Sleepers() const;
  void RegisterSleeper();
  void UnregisterSleeper();
  // Waiters in the state's wait queues, all copies of the addon together. seq_cst: the load of
  // the handshake in wait_queue.h.
  uint32_t Queued() const { return cell(kQueuedCell).load(std::memory_order_seq_cst); }
  // How many blocked waiters a grant has woken so far: the wake system calls made. Relaxed: a
  // statistic, ordered with nothing.
  uint64_t Notifies() const { return word(kNotifiesWord).load(std::memory_order_relaxed); }

  // For the wait queue (wait_queue.cc), under the state's queue mutex.
  // One waiter more (+1) or less (-1) in the queued cell; never below 0 (a scribbled cell).
  void CountQueued(int delta);
  // Relaxed: a statistic, ordered with nothing (see Notifies()).
  void CountNotify() { word(kNotifiesWord).fetch_add(1, std::memory_order_relaxed); }
  // Adds n permits to the cell: saturating at kMaxPermits, or refusing (false, nothing
  // changed) when the cell would pass it.
  bool AddToCell(uint64_t n, bool saturate);
  // Whether the cell can take n more permits without passing kMaxPermits (a first check; the
  // addition itself re-checks).
  bool CellHasRoomFor(uint64_t n) const;
  Word* words() const { return words_; }

  uint64_t RegisterWorker();
  uint64_t UnregisterWorker();
  uint64_t WorkerCount() const { return word(kWorkersWord).load(std::memory_order_seq_cst); }

  // leaves[0 .. count) are the leaf words of the partition, count <= 64 (checked by caller).
  // Replaces the partition word with the non-empty leaves, then re-reads the leaves it saw as
  // empty and sets the bits of those filled meanwhile; returns whether any leaf had work.
  bool SyncPartitionSummary(const Word* leaves, size_t count);
  uint64_t PartitionSummary() const {
    return word(kPartitionWord).load(std::memory_order_seq_cst);
  }
  bool PartitionLeafHasWork(LeafIndex leaf) const { return (PartitionSummary() & Bit(leaf)) != 0; }
  bool MarkPartitionLeafActive(LeafIndex leaf);
  void ClearPartitionLeaf(LeafIndex leaf);

  const void* key() const { return words_; }

 private:
  Word& word(StateWord w) const { return words_[w]; }
  // The 32-bit cells live inside word kCellsWord, which is only ever accessed through them.
  Cell& cell(StateCell c) const { return reinterpret_cast<Cell*>(words_)[c]; }
  // Sets `bits` in the status word with one fetch_or and adds one permit per newly set bit.
  void SetFlags(uint64_t bits);
  void ClearFlags(uint64_t bits);
  // Adds n permits like Release, stopping at kMaxPermits (an edge or a give-back cannot be
  // refused).
  void AddPermits(uint64_t n);
  // Polls for a permit for up to kSpinBudget (see above); true when it took one.
  bool SpinForPermit();
  static uint64_t DecrementToZero(Word& counter);

  Word* words_;
};

// The operations the addon exports as they are, one line each: X(export name, Waker method,
// (names of the arguments after the state)). native/node/binding.cc generates each export from
// the method's signature: an Index argument is a Number checked against its range, a SummaryMask a
// bigint below 2^62; void returns undefined, bool a boolean, a count (uint64_t, uint32_t) a
// Number, IndexOrNone a Number or undefined. lib/binding.ts types an export named like a
// WorkerWaker method from that method (lib/waker.ts). Operations with other arguments have
// hand-written exports in binding.cc.
#define WORKER_WAKER_OPERATIONS(X)                               \
  X(markYield, MarkYield, ())                                    \
  X(tryUnmarkYield, TryUnmarkYield, ())                          \
  X(markTasks, MarkTasks, ())                                    \
  X(tryUnmarkTasks, TryUnmarkTasks, ())                          \
  X(markActive, MarkActive, ("index"))                           \
  X(markActiveMask, MarkActiveMask, ("mask"))                    \
  X(tryUnmark, TryUnmark, ("bitIndex"))                          \
  X(summarySelect, SummarySelect, ("nearestToIndex"))            \
  X(dispatch, Dispatch, ())                                      \
  X(registerSleeper, RegisterSleeper, ())                        \
  X(unregisterSleeper, UnregisterSleeper, ())                    \
  X(registerWorker, RegisterWorker, ())                          \
  X(unregisterWorker, UnregisterWorker, ())                      \
  X(markPartitionLeafActive, MarkPartitionLeafActive, ("localLeafIdx")) \
  X(clearPartitionLeaf, ClearPartitionLeaf, ("localLeafIdx"))

// Bit helpers that compile on GCC, Clang and MSVC without C++20 <bit>.
int CountTrailingZeros(uint64_t x);  // x != 0
int CountLeadingZeros(uint64_t x);   // x != 0
int PopCount(uint64_t x);

}  // namespace worker_waker
