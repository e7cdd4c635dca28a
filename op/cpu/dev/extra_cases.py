# A few shapes outside cases.json: depthwise upsampler, 1x1 stride 1, big stride k < s, wide rows.
# Run from the repository root:  /usr/bin/python3 op/cpu/dev/extra_cases.py
import time, statistics, torch, torch.nn.functional as F, sys
torch.ops.load_library(sys.argv[1] if len(sys.argv) > 1 else "build-cpu/op/libtconv.so")
torch.set_num_threads(2)
cases = [
  ("depthwise16x16_s8_C32_64x64", (1, 32, 64, 64), (32, 1, 16, 16), dict(stride=8, padding=4, groups=32)),
  ("depthwise3x3_s2_C256_56x56", (1, 256, 56, 56), (256, 1, 3, 3), dict(stride=2, padding=1, output_padding=1, groups=256)),
  ("pointwise1x1_s1_256to256_56x56", (1, 256, 56, 56), (256, 256, 1, 1), dict()),
  ("k2_s4_64to64_64x64", (1, 64, 64, 64), (64, 64, 2, 2), dict(stride=4)),
  ("rgb_3to64_k3s1_256x256", (1, 3, 256, 256), (3, 64, 3, 3), dict(padding=1)),
  ("k7s1_wide_32to32_16x1024", (1, 32, 16, 1024), (32, 32, 7, 7), dict(padding=3)),
]
def t(f):
    f(); ts = []
    for _ in range(7):
        a = time.perf_counter(); f(); ts.append(time.perf_counter() - a)
    return statistics.median(ts), min(ts)
for name, xs, ws, kw in cases:
    x = torch.randn(*xs); w = torch.randn(*ws); b = torch.randn(ws[1] * kw.get("groups", 1))
    ref = F.conv_transpose2d(x, w, b, **kw)
    out = torch.ops.custom.conv_transpose2d(x, w, b, **kw)
    err = ((out - ref).norm() / ref.norm()).item()
    (tm, tmin), (cm, cmin) = t(lambda: F.conv_transpose2d(x, w, b, **kw)), t(lambda: torch.ops.custom.conv_transpose2d(x, w, b, **kw))
    print(f"{name:34s} out {tuple(ref.shape)!s:22s} torch {tm*1e3:8.2f} ms  tconv {cm*1e3:8.2f} ms  ratio {tm/cm:6.2f} (min-based {tmin/cmin:6.2f})  relerr {err:.1e}")
