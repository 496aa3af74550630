// Native floor for the round-trip benchmark: two threads pass one token back and forth through
// two counting semaphores, as the JS rows do, with nothing of Node in between. Modes:
//   condvar  std::mutex + std::condition_variable (what the addon parks on today)
//   futex    an atomic counter + Linux futex wait/wake
//   spin     futex, after a bounded spin of kSpinLimit pause instructions (the phase-2 idea)
// Usage: pingpong <mode> <roundMs> <rounds> [<pingCpu>,<echoCpu>]; prints one JSON line:
//   {"mode":"condvar","roundTripNs":[...]}  (the first, warm-up round is not printed)
// A mode the platform lacks prints {"mode":...,"unsupported":"why"} and exits 0.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace {

using Clock = std::chrono::steady_clock;

// How many pause instructions the spin mode polls before parking: a microsecond or a few,
// depending on the CPU's pause latency; enough to cover a partner thread that is running.
constexpr int kSpinLimit = 200;

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

class CondvarSemaphore {
 public:
  void Release() {
    bool wake;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++permits_;
      wake = waiters_ > 0;
    }
    if (wake) cv_.notify_one();  // outside the lock: the woken thread does not block on it
  }
  void Acquire() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++waiters_;
    cv_.wait(lock, [this] { return permits_ > 0; });
    --waiters_;
    --permits_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  long permits_ = 0;
  long waiters_ = 0;
};

#if defined(__linux__)
class FutexSemaphore {
 public:
  explicit FutexSemaphore(int spinLimit) : spinLimit_(spinLimit) {}

  void Release() {
    // seq_cst on both sides of the permits/waiters handshake (store then load on each side):
    // either the waiter's load of permits sees this add, or this load of waiters sees its add
    // and we wake it. The futex itself rechecks permits == 0 in the kernel.
    permits_.fetch_add(1, std::memory_order_seq_cst);
    if (waiters_.load(std::memory_order_seq_cst) > 0) Futex(FUTEX_WAKE_PRIVATE, 1);
  }
  void Acquire() {
    for (int i = 0; i < spinLimit_; ++i) {
      if (TryAcquire()) return;
      CpuRelax();
    }
    for (;;) {
      if (TryAcquire()) return;
      waiters_.fetch_add(1, std::memory_order_seq_cst);
      bool acquired = TryAcquire();  // after registering: see Release
      if (!acquired) Futex(FUTEX_WAIT_PRIVATE, 0);  // sleeps only while permits == 0
      waiters_.fetch_sub(1, std::memory_order_seq_cst);
      if (acquired) return;
    }
  }

 private:
  bool TryAcquire() {
    int current = permits_.load(std::memory_order_seq_cst);
    while (current > 0) {
      if (permits_.compare_exchange_weak(current, current - 1, std::memory_order_seq_cst)) return true;
    }
    return false;
  }
  void Futex(int op, int value) {
    syscall(SYS_futex, reinterpret_cast<int*>(&permits_), op, value, nullptr, nullptr, 0);
  }

  static_assert(sizeof(std::atomic<int>) == sizeof(int), "futex needs a plain int");
  std::atomic<int> permits_{0};
  std::atomic<int> waiters_{0};
  int spinLimit_;
};
#endif

// Pins the calling thread to `cpu` (Linux only; -1 leaves placement to the scheduler).
void PinTo(int cpu) {
#if defined(__linux__)
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
    std::fprintf(stderr, "cannot pin to cpu %d\n", cpu);
    std::exit(3);
  }
#else
  (void)cpu;
#endif
}

// Ping runs rounds of at least roundMs each; pong echoes until it sees `stop` after a ping.
template <typename Semaphore>
std::vector<double> PingPong(Semaphore& ping, Semaphore& pong, double roundMs, int rounds,
                             int pingCpu, int echoCpu) {
  std::atomic<bool> stop{false};
  PinTo(pingCpu);
  std::thread echo([&] {
    PinTo(echoCpu);
    for (;;) {
      ping.Acquire();
      if (stop.load(std::memory_order_acquire)) return;
      pong.Release();
    }
  });
  std::vector<double> result;
  for (int round = 0; round <= rounds; ++round) {  // round 0 warms up
    auto start = Clock::now();
    auto limit = start + std::chrono::duration<double, std::milli>(round == 0 ? roundMs / 2 : roundMs);
    long trips = 0;
    Clock::time_point now;
    do {
      for (int i = 0; i < 16; ++i) {
        ping.Release();
        pong.Acquire();
      }
      trips += 16;
      now = Clock::now();
    } while (now < limit);
    if (round > 0) {
      result.push_back(std::chrono::duration<double, std::nano>(now - start).count() / trips);
    }
  }
  stop.store(true, std::memory_order_release);  // published by the Release below
  ping.Release();
  echo.join();
  return result;
}

void Print(const char* mode, const std::vector<double>& roundTripNs) {
  std::printf("{\"mode\":\"%s\",\"roundTripNs\":[", mode);
  for (size_t i = 0; i < roundTripNs.size(); ++i) std::printf(i == 0 ? "%.1f" : ",%.1f", roundTripNs[i]);
  std::printf("]}\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: %s condvar|futex|spin <roundMs> <rounds> [<pingCpu>,<echoCpu>]\n", argv[0]);
    return 2;
  }
  std::string mode = argv[1];
  double roundMs = std::atof(argv[2]);
  int rounds = std::atoi(argv[3]);
  int pingCpu = -1;
  int echoCpu = -1;
  if (argc == 5 && std::sscanf(argv[4], "%d,%d", &pingCpu, &echoCpu) != 2) {
    std::fprintf(stderr, "cpus must look like 0,1\n");
    return 2;
  }
  if (!(roundMs > 0) || rounds < 1) {
    std::fprintf(stderr, "roundMs must be > 0 and rounds >= 1\n");
    return 2;
  }
  if (mode == "condvar") {
    CondvarSemaphore ping, pong;
    Print("condvar", PingPong(ping, pong, roundMs, rounds, pingCpu, echoCpu));
    return 0;
  }
  if (mode == "futex" || mode == "spin") {
#if defined(__linux__)
    FutexSemaphore ping(mode == "spin" ? kSpinLimit : 0), pong(mode == "spin" ? kSpinLimit : 0);
    Print(mode.c_str(), PingPong(ping, pong, roundMs, rounds, pingCpu, echoCpu));
#else
    std::printf("{\"mode\":\"%s\",\"unsupported\":\"futex is Linux-only\"}\n", mode.c_str());
#endif
    return 0;
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
