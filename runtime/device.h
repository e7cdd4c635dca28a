// Device names the runtime accepts: "cpu", "cuda" (the current CUDA device) and "cuda:N".
#pragma once

#include <c10/core/Device.h>

#include <string>

#include "error.h"

namespace tconv {
namespace runtime {

// Parses a device name and checks that this process can use it: throws Error for an unknown
// name ("tpu", "cuda:x"), for CUDA in a build or on a machine without it, and for an index past
// the number of CUDA devices. Never returns a device the caller cannot run on.
c10::Device parse_device(const std::string& name);

// Waits for the device's queued work (CUDA); a no-op on the CPU. Timing code calls it around the
// measured region so asynchronous kernel launches are not mistaken for finished work.
void synchronize(const c10::Device& device);

}  // namespace runtime
}  // namespace tconv
