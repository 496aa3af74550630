// The command line shared by the native stress drivers (stress.cc, wait_queue_stress.cc):
//   [--seconds S] [--seed N] [--only NAME]
// S is the run's time budget, N the random seed (default: the clock, printed so that a failing
// run can be repeated), NAME one scenario to run alone.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace worker_waker {
namespace test_driver {

struct Args {
  double seconds = 3;
  uint64_t seed = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
  const char* only = nullptr;
};

// False, after printing why, when the command line is not one of the above.
inline bool ParseArgs(int argc, char** argv, Args* args) {
  for (int i = 1; i < argc; ++i) {
    bool hasValue = i + 1 < argc;
    if (std::strcmp(argv[i], "--seconds") == 0 && hasValue) {
      args->seconds = std::atof(argv[++i]);
    } else if (std::strcmp(argv[i], "--seed") == 0 && hasValue) {
      args->seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--only") == 0 && hasValue) {
      args->only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--seconds S] [--seed N] [--only NAME]\n", argv[0]);
      return false;
    }
  }
  if (!(args->seconds > 0 && args->seconds < 3600)) {
    std::fprintf(stderr, "--seconds must be in (0, 3600)\n");
    return false;
  }
  return true;
}

}  // namespace test_driver
}  // namespace worker_waker
