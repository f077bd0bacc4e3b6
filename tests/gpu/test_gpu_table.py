#!/usr/bin/env python3
"""benchmarks/gpu_table.py on hand-made JSON: ratios, shares of the ceilings, labels, missing
peers and failed benchmarks. Runs under CTest with any python3 (no PyTorch needed)."""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "benchmarks"))
import gpu_table  # noqa: E402


def bench(name, ms, label, **counters):
    b = {"name": name, "run_name": name, "run_type": "iteration", "real_time": ms * 1e3, "time_unit": "us",
         "label": label}
    b.update(counters)
    return b


OURS = {"benchmarks": [
    bench("BM_cuda_ceiling_copy/1024/manual_time", 0.5, "measures=copy;shape=1024 MiB", bytes_per_second=4.0e12),
    bench("BM_cuda_ceiling_gemm/0/8192/manual_time", 20.0, "measures=gemm_fp32;shape=8192^3", **{"FLOP/s": 50e12}),
    bench("BM_cuda_ceiling_gemm/1/8192/manual_time", 2.0, "measures=gemm_tf32;shape=8192^3", **{"FLOP/s": 400e12}),
    bench("BM_cuda_conv2d_forward/8/64/512/512/3/1/1/0/manual_time", 2.0, "ceiling=gemm_fp32;shape=own N8 64",
          **{"FLOP/s": 35e12}),
    bench("BM_cuda_conv2d_forward/8/64/512/512/3/1/1/1/manual_time", 0.5, "ceiling=gemm_tf32;shape=own-tc N8 64",
          **{"FLOP/s": 200e12}),
    bench("BM_cuda_pixel_shuffle/8/64/512/manual_time", 0.1, "ceiling=copy", bytes_per_second=3.0e12),
    bench("BM_cuda_matmul/4096/4096/4096/1/manual_time", 3.0, "ceiling=gemm_fp32;shape=4096x4096 · 4096x4096",
          **{"FLOP/s": 45e12}),
    bench("BM_cuda_add_bias/8/128/128/128/manual_time", 0.02, "ceiling=copy;shape=", bytes_per_second=2.0e12),
    {"name": "BM_cuda_broken/1/manual_time", "run_name": "BM_cuda_broken/1/manual_time", "error_occurred": True,
     "error_message": "no cuDNN"},
]}

TORCH = {"torch": "2.11.0", "cuda": "13.0", "cudnn": 91900, "device": "NVIDIA H200", "results": {
    "BM_cuda_conv2d_forward/8/64/512/512/3/1/1/0/manual_time": {"seconds": 1e-3, "tf32": False},
    "BM_cuda_conv2d_forward/8/64/512/512/3/1/1/1/manual_time": {"seconds": 1e-3, "tf32": True},
    "BM_cuda_matmul/4096/4096/4096/1/manual_time": {"seconds": 2e-3, "tf32": False},
    "BM_cuda_add_bias/8/128/128/128/manual_time": {"seconds": 4e-5, "tf32": False},
}}


class GpuTableTest(unittest.TestCase):
    def rows(self, text):
        return {line.split("|")[2].strip(): [c.strip() for c in line.split("|")[1:-1]]
                for line in text.splitlines() if line.startswith("| ") and line.count("|") == 8}

    def test_ratios_and_ceiling_shares(self):
        text = gpu_table.build_table(gpu_table.load_ours(OURS), TORCH, "title line")
        rows = self.rows(text)
        own = rows["own N8 64"]
        self.assertEqual(own[0], "conv2d_forward")
        self.assertEqual(own[2], "2.0000")   # ours ms
        self.assertEqual(own[3], "1.0000")   # PyTorch ms
        self.assertEqual(own[4], "2.00")     # ratio
        self.assertEqual(own[5], "35.00 TFLOP/s")
        self.assertEqual(own[6], "70%")      # of the float32 GEMM ceiling
        tc = rows["own-tc N8 64"]
        self.assertEqual(tc[4], "0.50")
        self.assertEqual(tc[6], "50%")       # of the TF32 ceiling, not the float32 one
        self.assertTrue(text.startswith("title line"))
        self.assertIn("PyTorch 2.11.0", text)

    def test_memory_bound_rows_and_missing_peers(self):
        text = gpu_table.build_table(gpu_table.load_ours(OURS), TORCH)
        shuffle = self.rows(text)["8/64/512"]  # no shape label: the arguments
        self.assertEqual(shuffle[3], "—")       # no PyTorch timing
        self.assertEqual(shuffle[4], "—")
        self.assertEqual(shuffle[5], "3000 GB/s")
        self.assertEqual(shuffle[6], "75%")     # of the 4 TB/s copy ceiling

    def test_core_rows(self):
        rows = self.rows(gpu_table.build_table(gpu_table.load_ours(OURS), TORCH))
        matmul = rows["4096x4096 · 4096x4096"]
        self.assertEqual(matmul[0], "matmul")
        self.assertEqual(matmul[4], "1.50")
        self.assertEqual(matmul[6], "90%")      # of the float32 GEMM ceiling
        bias = rows["8/128/128/128"]            # an empty shape in the label: the arguments
        self.assertEqual(bias[0], "add_bias")
        self.assertEqual(bias[4], "0.50")
        self.assertEqual(bias[5], "2000 GB/s")
        self.assertEqual(bias[6], "50%")        # of the copy ceiling

    def test_ceilings_are_listed_not_compared(self):
        text = gpu_table.build_table(gpu_table.load_ours(OURS), None)
        self.assertIn("| gemm_tf32 | 400.00 TFLOP/s | 8192^3 |", text)
        self.assertIn("| copy | 4000 GB/s | 1024 MiB |", text)
        self.assertNotIn("ceiling_gemm", text)

    def test_failed_benchmarks_are_reported(self):
        text = gpu_table.build_table(gpu_table.load_ours(OURS), TORCH)
        self.assertIn("| BM_cuda_broken/1/manual_time | error: no cuDNN |", text)

    def test_repetitions_keep_the_median(self):
        runs = [dict(bench("BM_cuda_x/1/manual_time", ms, "ceiling=copy", bytes_per_second=1e9), run_type="aggregate",
                     aggregate_name=agg) for ms, agg in ((1.0, "mean"), (3.0, "median"), (0.1, "stddev"))]
        rows = gpu_table.load_ours({"benchmarks": runs})
        self.assertEqual(len(rows), 1)
        self.assertAlmostEqual(rows[0]["seconds"], 3e-3)

    def test_command_line_writes_the_markdown(self):
        with tempfile.TemporaryDirectory() as d:
            ours, theirs, md = (os.path.join(d, n) for n in ("ours.json", "torch.json", "table.md"))
            with open(ours, "w") as f:
                json.dump(OURS, f)
            with open(theirs, "w") as f:
                json.dump(TORCH, f)
            with open(os.devnull, "w") as null:
                stdout, sys.stdout = sys.stdout, null
                try:
                    self.assertEqual(gpu_table.main(["--ours", ours, "--torch", theirs, "--markdown", md]), 0)
                finally:
                    sys.stdout = stdout
            with open(md) as f:
                self.assertIn("| conv2d_forward | own N8 64 | 2.0000 | 1.0000 | 2.00 |", f.read())


if __name__ == "__main__":
    unittest.main()
