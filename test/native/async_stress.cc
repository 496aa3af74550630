// Stress for AsyncWaiter (the acquireAsync waiter thread) under TSan and ASan+UBSan, run by
// scripts/test-native.sh: one "JS thread" adds demand,
// cancels and takes grants like lib/acquire-async.ts; producers release; conservation checked.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <random>
#include <thread>
#include <vector>
#include <condition_variable>
#include "async_waiter.h"
#include "waker_core.h"
namespace ww = worker_waker;

struct FakeSink : ww::AsyncWaiter::Sink {
  std::mutex m; std::condition_variable cv; bool pending = false; std::atomic<bool> gone{false};
  std::atomic<int> retired{0};
  bool Notify() override { if (gone) return false; std::lock_guard<std::mutex> g(m); pending = true; cv.notify_one(); return true; }
  void Retired() override { retired++; }
};

int main(int argc, char** argv) {
  int rounds = argc > 1 ? atoi(argv[1]) : 20;
  for (int round = 0; round < rounds; ++round) {
    alignas(128) static ww::Word words[ww::kStateWords];
    ww::Waker::Format(words);
    ww::Waker waker(words);
    FakeSink sink;
    auto* waiter = new ww::AsyncWaiter(words, &sink);
    if (!waiter->Start()) return 2;
    std::atomic<uint64_t> released{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> producers;
    for (int p = 0; p < 2; ++p) producers.emplace_back([&, p] {
      std::mt19937 rng(round * 7 + p);
      while (!stop) {
        uint32_t n = 1 + rng() % 3;
        if (waker.Permits() < 2) { waker.Release(n); released += n; }
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 200));
      }
    });
    // JS thread: q pending calls (FIFO count only), taken = grants received.
    std::mt19937 rng(round);
    uint64_t q = 0, taken = 0, fast = 0, cancels = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    while (std::chrono::steady_clock::now() < deadline) {
      int op = rng() % 10;
      if (op < 4 || q < 4) {
        if (q == 0 && waiter->TryTakeNow()) { ++fast; continue; }
        if (!waiter->AddDemand()) { std::fprintf(stderr, "retired unexpectedly\n"); return 1; }
        ++q;
      } else if (op < 6 && q > 0) {
        waiter->Cancel(); --q; ++cancels;
      } else {
        std::unique_lock<std::mutex> l(sink.m);
        sink.cv.wait_for(l, std::chrono::microseconds(300), [&] { return sink.pending; });
        bool had = sink.pending; sink.pending = false; l.unlock();
        if (had) {
          uint64_t n = waiter->TakeReady();
          if (n > q) { std::fprintf(stderr, "grants %llu > pending %llu\n", (unsigned long long)n, (unsigned long long)q); return 1; }
          q -= n; taken += n;
        }
      }
    }
    // Drain: cancel all pending, then stop everything.
    while (q > 0) { waiter->Cancel(); --q; }
    stop = true;
    for (auto& t : producers) t.join();
    if (round % 2) { sink.gone = true; }
    waiter->Stop();
    // Any grant notified but not taken is given back by Stop.
    uint64_t left = waker.Permits();
    if (taken + fast + left != released) {
      std::fprintf(stderr, "round %d: taken %llu + fast %llu + left %llu != released %llu\n", round,
        (unsigned long long)taken, (unsigned long long)fast, (unsigned long long)left, (unsigned long long)released.load());
      return 1;
    }
    delete waiter;
    std::printf("round %d ok: released %llu taken %llu fast %llu cancels %llu\n", round, (unsigned long long)released.load(),
      (unsigned long long)taken, (unsigned long long)fast, (unsigned long long)cancels);
  }
  // Retirement path.
  {
    alignas(128) static ww::Word words[ww::kStateWords];
    ww::Waker::Format(words);
    FakeSink sink;
    ww::AsyncWaiter waiter(words, &sink);
    waiter.Start();
    std::this_thread::sleep_for(ww::AsyncWaiter::kLinger + std::chrono::milliseconds(200));
    if (sink.retired != 1 || waiter.AddDemand()) { std::fprintf(stderr, "no retirement\n"); return 1; }
    waiter.Stop();
    if (ww::AsyncWaiter::RunningThreads(words) != 0) { std::fprintf(stderr, "threads left\n"); return 1; }
    std::printf("retire ok\n");
  }
  return 0;
}
