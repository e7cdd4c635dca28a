# Correctness sweep of custom::conv_transpose2d on CPU against torch (float64 reference), with the
# output poisoned by NaN (TCONV_CPU_POISON=1) so unwritten elements fail. Random argument sets plus
# fixed edge cases; float32 and float64; contiguous, channels_last and non-contiguous inputs.
# Run from the repository root:  /usr/bin/python3 op/cpu/dev/check_vs_torch.py --isa avx512,avx2,sse2
import argparse, os, random, sys, traceback
import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--lib", default="build-cpu/op/libtconv.so")
ap.add_argument("--random", type=int, default=200)
ap.add_argument("--isa", default="", help="comma list of TCONV_CPU_ISA values to run; 'direct' "
                "runs the direct fallback (TCONV_CPU_DIRECT=1)")
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
torch.ops.load_library(a.lib)
torch.set_num_threads(a.threads)
os.environ["TCONV_CPU_POISON"] = "1"
rng = random.Random(a.seed)

def out_size(i, k, s, p, d, op):
    return (i - 1) * s - 2 * p + d * (k - 1) + op + 1

def random_case():
    groups = rng.choice([1, 1, 1, 2, 3, 4])
    depthwise = rng.random() < 0.15
    cin_g = 1 if depthwise else rng.choice([1, 2, 3, 5, 8, 9, 16])
    cout_g = 1 if depthwise else rng.choice([1, 2, 3, 4, 7, 8, 9, 13, 16, 17, 24])
    if depthwise: groups = rng.choice([1, 3, 8])
    while True:
        kh, kw = rng.randint(1, 5), rng.randint(1, 5)
        sh, sw = rng.choice([1, 1, 2, 2, 3, 4, 5, 7]), rng.choice([1, 1, 2, 2, 3, 4, 5, 7])
        dh, dw = rng.choice([1, 1, 1, 2, 3, 4]), rng.choice([1, 1, 1, 2, 3, 4])
        H, W = rng.randint(1, 12), rng.randint(1, 40)
        ph, pw = rng.randint(0, dh * (kh - 1) + 1), rng.randint(0, dw * (kw - 1) + 1)
        oph = rng.randint(0, max(sh, dh) - 1) if rng.random() < 0.4 else 0
        opw = rng.randint(0, max(sw, dw) - 1) if rng.random() < 0.4 else 0
        if out_size(H, kh, sh, ph, dh, oph) >= 1 and out_size(W, kw, sw, pw, dw, opw) >= 1:
            break
    return dict(N=rng.choice([0, 1, 1, 2, 3]), cin=cin_g * groups, cout=cout_g * groups, H=H, W=W,
                k=(kh, kw), stride=(sh, sw), padding=(ph, pw), output_padding=(oph, opw),
                dilation=(dh, dw), groups=groups, bias=rng.random() < 0.6,
                layout=rng.choice(["contig", "contig", "cl", "noncontig"]),
                unbatched=rng.random() < 0.1)

def fixed_cases():
    c = []
    def add(**kw):
        d = dict(N=1, groups=1, bias=True, layout="contig", unbatched=False, output_padding=(0, 0),
                 dilation=(1, 1), padding=(0, 0))
        d.update(kw); c.append(d)
    # the benchmark shapes, small
    add(N=1, cin=64, cout=64, H=20, W=33, k=(3, 3), stride=(1, 1))
    add(N=1, cin=64, cout=64, H=17, W=30, k=(3, 7), stride=(1, 1))
    add(N=2, cin=32, cout=64, H=16, W=32, k=(3, 5), stride=(2, 3), padding=(1, 2), dilation=(2, 1), groups=4)
    add(N=2, cin=32, cout=64, H=8, W=16, k=(3, 3), stride=(5, 5), padding=(1, 1), dilation=(2, 2))
    add(N=2, cin=512, cout=256, H=8, W=8, k=(4, 4), stride=(2, 2), padding=(1, 1))
    add(N=2, cin=128, cout=64, H=16, W=16, k=(4, 4), stride=(2, 2), padding=(1, 1))
    add(N=2, cin=64, cout=3, H=32, W=32, k=(4, 4), stride=(2, 2), padding=(1, 1))
    add(N=1, cin=512, cout=256, H=8, W=8, k=(2, 2), stride=(2, 2))
    add(N=1, cin=128, cout=64, H=24, W=24, k=(2, 2), stride=(2, 2))
    # wide rows with many channels: column bands; tall: many row bands
    add(N=1, cin=256, cout=16, H=3, W=700, k=(3, 3), stride=(1, 2), padding=(1, 1))
    add(N=1, cin=4, cout=8, H=300, W=5, k=(3, 3), stride=(2, 1))
    # k < s, gcd(s, d) > 1, output_padding >= stride (allowed when < dilation)
    add(N=2, cin=3, cout=5, H=7, W=9, k=(2, 3), stride=(4, 5))
    add(N=2, cin=3, cout=5, H=7, W=9, k=(3, 3), stride=(4, 6), dilation=(2, 3), output_padding=(1, 2))
    add(N=1, cin=2, cout=2, H=5, W=5, k=(3, 3), stride=(1, 1), dilation=(4, 4), output_padding=(3, 2))
    # depthwise upsampler 16x16/s8, channels_last
    add(N=2, cin=8, cout=8, H=6, W=7, k=(16, 16), stride=(8, 8), padding=(4, 4), groups=8, layout="cl")
    # stride above 8 (generic interleave), wide channels_last rows
    add(N=2, cin=3, cout=4, H=5, W=9, k=(5, 13), stride=(3, 11), padding=(1, 4), output_padding=(2, 7))
    add(N=1, cin=24, cout=40, H=4, W=150, k=(3, 4), stride=(1, 2), padding=(1, 1), layout="cl")
    # geometries for the direct fallback: > 4096 phases; scratch beyond 64 MB (dilation 3000)
    add(N=1, cin=2, cout=3, H=2, W=3, k=(2, 3), stride=(5000, 3), padding=(0, 1))
    add(N=1, cin=2, cout=2, H=1, W=3, k=(3, 2), stride=(2 ** 30, 2))  # torch keeps strides in int32
    add(N=1, cin=64, cout=8, H=4, W=4, k=(3, 3), stride=(1, 1), dilation=(3000, 3000), padding=(3000, 3000))
    # the most phases the tiled path takes (64 x 64); large stride with large padding
    add(N=1, cin=3, cout=5, H=3, W=4, k=(3, 3), stride=(64, 64), padding=(5, 70), output_padding=(63, 2))
    add(N=2, cin=3, cout=4, H=40, W=9, k=(3, 3), stride=(50, 3), padding=(900, 1))
    # huge padding cropping most of the output
    add(N=1, cin=4, cout=4, H=10, W=10, k=(5, 5), stride=(3, 3), padding=(12, 11))
    # 1x1 input, 1x1 kernel
    add(N=3, cin=5, cout=7, H=1, W=1, k=(1, 1), stride=(1, 1))
    add(N=3, cin=5, cout=7, H=1, W=1, k=(1, 1), stride=(3, 2), output_padding=(2, 1))
    add(N=0, cin=5, cout=7, H=4, W=4, k=(3, 3), stride=(2, 2))
    add(N=1, cin=6, cout=9, H=5, W=6, k=(3, 2), stride=(2, 3), unbatched=True, layout="noncontig")
    return c

def make_input(c, dtype, g):
    x = torch.randn(c["N"], c["cin"], c["H"], c["W"], generator=g, dtype=dtype)
    if c["layout"] == "cl":
        x = x.contiguous(memory_format=torch.channels_last)
    elif c["layout"] == "noncontig":
        big = torch.randn(c["N"], c["cin"] * 2, c["H"] + 3, c["W"] * 2 + 1, generator=g, dtype=dtype)
        big[:, ::2, 1:1 + c["H"], 1:1 + 2 * c["W"]:2] = x
        x = big[:, ::2, 1:1 + c["H"], 1:1 + 2 * c["W"]:2]
    if c["unbatched"] and c["N"] == 1:
        x = x[0]
    return x

def run(c, dtype, isa):
    g = torch.Generator().manual_seed(hash(str(c)) & 0xffffffff)
    x = make_input(c, dtype, g)
    w = torch.randn(c["cin"], c["cout"] // c["groups"], *c["k"], generator=g, dtype=dtype)
    if rng.random() < 0.2:  # non-contiguous weight
        w = w.transpose(2, 3).contiguous().transpose(2, 3)
    b = torch.randn(c["cout"], generator=g, dtype=dtype) if c["bias"] else None
    kw = dict(stride=c["stride"], padding=c["padding"], output_padding=c["output_padding"],
              groups=c["groups"], dilation=c["dilation"])
    # .contiguous(): torch 1.13 raises a view error for an empty batch with a non-contiguous weight
    ref = F.conv_transpose2d(x.double(), w.double().contiguous(), None if b is None else b.double(), **kw)
    os.environ["TCONV_CPU_DIRECT"] = "1" if isa == "direct" else "0"
    os.environ["TCONV_CPU_ISA"] = "auto" if isa == "direct" else isa
    out = torch.ops.custom.conv_transpose2d(x, w, b, **kw)
    problems = []
    if out.shape != ref.shape: problems.append(f"shape {tuple(out.shape)} vs {tuple(ref.shape)}")
    if out.dtype != dtype: problems.append(f"dtype {out.dtype}")
    if not problems:
        if ref.dim() == 4 and out.numel() and x.dim() == 4:
            want_cl = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
            if want_cl and not out.is_contiguous(memory_format=torch.channels_last):
                problems.append("output not channels_last")
        if out.numel():
            d = (out.double() - ref)
            if torch.isnan(out).any(): problems.append("NaN (unwritten?)")
            rel = (d.norm() / ref.norm().clamp_min(1e-30)).item()
            mx = (d.abs().max() / ref.abs().max().clamp_min(1e-30)).item()
            tol = 1e-5 if dtype == torch.float32 else 1e-12
            if not (rel <= tol and mx <= 10 * tol): problems.append(f"rel {rel:.2e} max {mx:.2e}")
            return problems, rel
    return problems, 0.0

isas = a.isa.split(",") if a.isa else ["auto"]
cases = fixed_cases() + [random_case() for _ in range(a.random)]
fails = 0; worst = {}
for isa in isas:
    for dtype in (torch.float32, torch.float64):
        for i, c in enumerate(cases):
            try:
                probs, rel = run(c, dtype, isa)
            except Exception as e:
                probs, rel = [f"exception {e} at {traceback.format_exc().strip().splitlines()[-4:-1]}"], 0
            worst[(isa, dtype)] = max(worst.get((isa, dtype), 0), rel)
            if probs:
                fails += 1
                print("FAIL", isa, dtype, i, c, probs)
for k, v in worst.items(): print(f"isa={k[0]:7s} {str(k[1]):14s} worst norm-wise rel err {v:.2e}")
print(f"{len(cases)} argument sets x {len(isas)} isa x 2 dtypes: {fails} failures")
sys.exit(1 if fails else 0)
