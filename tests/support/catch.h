// Catch2 v2 (Debian: catch2/catch.hpp) and v3 (GPU machine: catch2/catch_all.hpp) behind one header.
// Every test uses the CATCH_-prefixed macros: libtorch pulls in glog's CHECK, which collides with
// Catch2's unprefixed one (CATCH_CONFIG_PREFIX_ALL is set by tests/CMakeLists.txt).
#pragma once

#if __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#define TCONV_SKIP(message) CATCH_SKIP(message)
#else
#include <catch2/catch.hpp>
// Catch2 v2 has no SKIP: report the reason and leave the test case.
#define TCONV_SKIP(message)  \
  do {                       \
    CATCH_WARN(message);     \
    return;                  \
  } while (0)
#endif
