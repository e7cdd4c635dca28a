# Side-by-side CPU timing: custom::conv_transpose2d (tconv) vs torch.nn.functional.conv_transpose2d.
# Run from the repository root. Cases from bench/cases.json, shrunk: batch reduced, then H and W cropped (both by the
# same factor) until one call is at most BUDGET useful flops.
import json, math, statistics, sys, time, argparse
import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument("--lib", default="build-cpu/op/libtconv.so")
p.add_argument("--budget", type=float, default=1.0e9, help="useful flops per call")
p.add_argument("--threads", type=int, default=2)
p.add_argument("--reps", type=int, default=7)
p.add_argument("--dtype", default="float32")
p.add_argument("--only", default="")
p.add_argument("--cases", default="bench/cases.json")
p.add_argument("--cl", action="store_true", help="channels_last input")
a = p.parse_args()
torch.ops.load_library(a.lib)
torch.set_num_threads(a.threads)
dtype = getattr(torch, a.dtype)
cases = json.load(open(a.cases))

def flops(c, N, H, W):
    return 2 * N * c["Cin"] * (c["Cout"] // c["groups"]) * H * W * c["kh"] * c["kw"]

def timeit(fn, reps):
    fn(); fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)

ratios, ratios_min = [], []
print(f"{'':65s} {'median of reps':^32s} | {'min of reps':^32s} |")
print(f"{'case':44s} {'(N,Cin,H,W) run':20s} {'torch ms':>8s} {'tconv ms':>8s} {'ratio':>6s} {'GF/s':>7s} | {'torch ms':>8s} {'tconv ms':>8s} {'ratio':>6s} {'GF/s':>7s} | {'maxerr':>7s}")
for c in cases:
    if a.only and a.only not in c["name"]: continue
    N, H, W = c["N"], c["H"], c["W"]
    per_n = flops(c, 1, H, W)
    N = max(1, min(N, int(a.budget // per_n)))
    if flops(c, N, H, W) > a.budget:
        f = math.sqrt(a.budget / flops(c, N, H, W))
        H = max(8, int(H * f) // 8 * 8); W = max(8, int(W * f) // 8 * 8)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N, c["Cin"], H, W, generator=g, dtype=dtype)
    if a.cl: x = x.contiguous(memory_format=torch.channels_last)
    w = torch.randn(c["Cin"], c["Cout"] // c["groups"], c["kh"], c["kw"], generator=g, dtype=dtype)
    b = torch.randn(c["Cout"], generator=g, dtype=dtype) if c["bias"] else None
    kw = dict(stride=c["stride"], padding=c["padding"], output_padding=c["output_padding"],
              groups=c["groups"], dilation=c["dilation"])
    ref = F.conv_transpose2d(x, w, b, **kw)
    out = torch.ops.custom.conv_transpose2d(x, w, b, **kw)
    err = (out - ref).abs().max().item() / max(1e-30, ref.abs().max().item())
    tt, tt_min = timeit(lambda: F.conv_transpose2d(x, w, b, **kw), a.reps)
    tc, tc_min = timeit(lambda: torch.ops.custom.conv_transpose2d(x, w, b, **kw), a.reps)
    ratios.append(tt / tc); ratios_min.append(tt_min / tc_min)
    print(f"{c['name']:44s} {str((N, c['Cin'], H, W)):20s} {tt*1e3:8.2f} {tc*1e3:8.2f} {tt/tc:6.2f} {flops(c,N,H,W)/tc/1e9:7.1f} | {tt_min*1e3:8.2f} {tc_min*1e3:8.2f} {tt_min/tc_min:6.2f} {flops(c,N,H,W)/tc_min/1e9:7.1f} | {err:7.1e}", flush=True)
print(f"median over cases of torch/tconv: {statistics.median(ratios):.2f} (median times), {statistics.median(ratios_min):.2f} (min times)  (threads={a.threads}, dtype={a.dtype}, budget={a.budget:.0e} flops)")
