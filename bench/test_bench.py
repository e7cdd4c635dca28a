"""Tests of the benchmark's own logic: its correctness guard must catch wrong, NaN, misshapen and
raising results, and its size and flop arithmetic must match torch. The op under test is replaced
by stand-ins built from torch's own result, so these tests need no plugin (the CTest smoke test
runs bench.py against the real one)."""
import argparse
import contextlib
import dataclasses
import io
import math
import os
import sys
import unittest

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
from bench_cases import load_cases, resize_case  # noqa: E402
from bench_modes import MODES  # noqa: E402
from bench_report import (STATUS_ERROR, STATUS_FAIL, STATUS_OK, Result,  # noqa: E402
                          summarize_by_mode)
from bench_timing import CpuTimer  # noqa: E402

TINY = dict(batch=1, max_spatial=6)


def tiny_cases():
    return [resize_case(c, TINY["batch"], TINY["max_spatial"])
            for c in load_cases(bench.DEFAULT_CASES)]


def quick_args():
    return argparse.Namespace(warmup=0, iters=1, channels_last=False)


@contextlib.contextmanager
def tconv_replaced_by(fake):
    saved = bench.run_tconv
    bench.run_tconv = fake
    try:
        yield
    finally:
        bench.run_tconv = saved


def run_one(fake, case_name="kernelbench_l1_75_grouped_strided_dilated", mode="fp32"):
    case = next(c for c in tiny_cases() if c.name == case_name)
    with tconv_replaced_by(fake), contextlib.redirect_stdout(io.StringIO()):
        results = bench.run_case(case, [MODES[mode]], torch.device("cpu"), CpuTimer(),
                                 quick_args(), None)
    return results[0]


class GuardTest(unittest.TestCase):
    def test_exact_answer_passes(self):
        r = run_one(lambda case, t: bench.run_torch(case, t))
        self.assertEqual(r.status, STATUS_OK, r.message)
        self.assertLess(r.tconv_error, 1e-6)
        self.assertIsNotNone(r.speedup)

    def test_small_relative_error_above_fp32_bar_fails(self):
        r = run_one(lambda case, t: bench.run_torch(case, t) * (1 + 1e-4))
        self.assertEqual(r.status, STATUS_FAIL)
        self.assertAlmostEqual(r.tconv_error, 1e-4, delta=2e-5)

    def test_one_nan_element_fails(self):
        def one_nan(case, t):
            out = bench.run_torch(case, t)
            out.view(-1)[out.numel() // 2] = float("nan")
            return out
        r = run_one(one_nan, mode="fp64")
        self.assertEqual(r.status, STATUS_FAIL)
        self.assertTrue(math.isnan(r.tconv_error))

    def test_wrong_shape_is_an_error(self):
        r = run_one(lambda case, t: bench.run_torch(case, t)[..., :-1])
        self.assertEqual(r.status, STATUS_ERROR)
        self.assertIn("tconv returned", r.message)

    def test_raising_op_is_an_error_and_keeps_the_message(self):
        def raises(case, t):
            raise RuntimeError("no kernel for this\nsecond line")
        r = run_one(raises)
        self.assertEqual(r.status, STATUS_ERROR)
        self.assertEqual(r.message, "RuntimeError: no kernel for this")

    def test_main_exits_1_when_a_case_fails(self):
        saved_load = bench.load_plugin
        bench.load_plugin = lambda path: None  # --library below is any existing file
        try:
            with tconv_replaced_by(lambda case, t: bench.run_torch(case, t) + 1.0), \
                    contextlib.redirect_stdout(io.StringIO()) as out:
                rc = bench.main(["--library", bench.__file__, "--only", "unet_128to64_k2s2_bias",
                                 "--batch", "1", "--max-spatial", "4", "--iters", "1",
                                 "--modes", "fp32"])
        finally:
            bench.load_plugin = saved_load
        self.assertEqual(rc, 1)
        self.assertIn("FAIL", out.getvalue())


class ArithmeticTest(unittest.TestCase):
    def test_output_size_and_elements_match_torch_for_every_case(self):
        for case in tiny_cases():
            x = torch.randn(case.N, case.Cin, case.H, case.W)
            w = torch.randn(case.Cin, case.Cout // case.groups, case.kh, case.kw)
            out = F.conv_transpose2d(x, w, None, list(case.stride), list(case.padding),
                                     list(case.output_padding), case.groups, list(case.dilation))
            self.assertEqual(tuple(out.shape[2:]), case.output_hw(), case.name)
            expected = x.numel() + w.numel() + out.numel() + (case.Cout if case.bias else 0)
            self.assertEqual(case.tensor_elements(), expected, case.name)

    def test_useful_flops_of_the_dcgan_layer(self):
        case = next(c for c in load_cases(bench.DEFAULT_CASES) if c.name == "dcgan_128to64_k4s2p1")
        self.assertEqual(case.useful_flops(), 2 * 128 * 128 * 64 * 32 * 32 * 4 * 4)

    def test_crop_that_empties_the_output_is_refused(self):
        case = next(c for c in load_cases(bench.DEFAULT_CASES)
                    if c.name == "kernelbench_l1_81_s5_d2")
        # Valid at full size (64x128 input); a 1x1 input cannot absorb padding 4 of a 1x1 kernel.
        padded = dataclasses.replace(case, padding=(4, 4), kh=1, kw=1)
        self.assertGreater(min(padded.output_hw()), 0)
        with self.assertRaisesRegex(ValueError, "empty"):
            resize_case(padded, 1, 1)

    def test_summary_geomean_median_min(self):
        results = [Result(case=str(i), mode="fp32", shape="", resized_from=None, speedup=s)
                   for i, s in enumerate([1.0, 4.0, 2.0])]
        results.append(Result(case="bad", mode="fp32", shape="", resized_from=None,
                              status=STATUS_FAIL, speedup=100.0))
        s = summarize_by_mode(results)["fp32"]
        self.assertAlmostEqual(s["geomean_speedup"], 2.0)
        self.assertEqual((s["median_speedup"], s["min_speedup"], s["passed"], s["cases"]),
                         (2.0, 1.0, 3, 4))


if __name__ == "__main__":
    unittest.main()
