// The host walks' check: counts every check, prints the first 20 failures with a printf-style
// message, and leaves the verdict to main (g_failures == 0).
#pragma once

#include <cstdio>

inline long g_checks = 0, g_failures = 0;

#define CHECK(cond, ...)                                              \
  do {                                                                \
    ++g_checks;                                                       \
    if (!(cond)) {                                                    \
      if (++g_failures <= 20) {                                       \
        std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);   \
        std::printf(__VA_ARGS__);                                     \
        std::printf("\n");                                            \
      }                                                               \
    }                                                                 \
  } while (0)
