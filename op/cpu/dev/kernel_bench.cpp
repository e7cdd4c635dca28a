// Times the CPU kernel alone (output allocated and first-touched once, outside the timing), to
// separate kernel speed from the page faults of a fresh output. Built and run by kernel_bench.sh.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <ctime>
static double cpu_now() { timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
#include "problem.h"
#include "cpu/cpu_plan.h"

int main(int argc, char** argv) {
  if (argc < 18) { std::fprintf(stderr, "usage: N Cin Cout H W kh kw sh sw ph pw dh dw oph opw groups reps [threads] [double]\n"); return 2; }
  std::vector<int64_t> v; for (int i = 1; i < 18; ++i) v.push_back(std::atoll(argv[i]));
  const int threads = argc > 18 ? std::atoi(argv[18]) : 1;
  const bool dbl = argc > 19 && std::atoi(argv[19]);
  at::set_num_threads(threads);
  auto opt = at::TensorOptions().dtype(dbl ? at::kDouble : at::kFloat);
  at::Tensor x = at::randn({v[0], v[1], v[3], v[4]}, opt);
  at::Tensor w = at::randn({v[1], v[2] / v[15], v[5], v[6]}, opt);
  at::Tensor b = at::randn({v[2]}, opt);
  auto P = tconv::make_problem(x, w, b, {v[7], v[8]}, {v[9], v[10]}, {v[13], v[14]}, v[15], {v[11], v[12]}, tconv::Backend::CPU);
  at::Tensor y = P.new_output();
  y.fill_(0);
  const auto& k = tconv::cpu::select_cpu_kernels();
  std::vector<double> ts, cs;
  for (int r = 0; r < v[16] + 2; ++r) {
    const double c0 = cpu_now();
    auto t0 = std::chrono::steady_clock::now();
    tconv::cpu::run_conv_transpose2d(P, y, k);
    auto t1 = std::chrono::steady_clock::now();
    const double c1 = cpu_now();
    if (r >= 2) { ts.push_back(std::chrono::duration<double>(t1 - t0).count()); cs.push_back(c1 - c0); }
  }
  std::sort(ts.begin(), ts.end()); std::sort(cs.begin(), cs.end());
  const double flops = 2.0 * P.geometry.multiply_adds();
  std::printf("%s: wall median %7.3f ms min %7.3f ms (%6.1f GF/s) | cpu-time min %7.3f ms (%6.1f GF/s per thread) | out %.1f MB\n", k.name, ts[ts.size() / 2] * 1e3,
              ts[0] * 1e3, flops / ts[0] / 1e9, cs[0] * 1e3, flops / cs[0] / 1e9 * threads, y.numel() * y.element_size() / 1e6);
}
