"""An integer recipe whose two operand scales multiply past FLT_MAX.

fla under int16-emu on uniform:100 inputs (chunk 32) drives intermediates
near 1e38, so a step's dequantisation scale d = sa * sb overflows fp32.
The reference gives IEEE's I * d (+-inf, NaN for I = 0) and counts the
overflow (sim/cube.cc DequantRound); the fast paths leave such groups to it
(FastIntMatMul). Found by review: the reference aborted with an internal
error, and so did targets without FMA, while AVX2/AVX3 finished.

Checked: exit 0, the overflow is reported (a step's `overflowed`, the
inverse's non-finite count), and the JSON is byte-identical with --scalar
and on every SIMD target this machine runs.

Run by ctest as: /usr/bin/python3 int_scale_overflow_test.py TRISIM_BINARY
"""
import json
import os
import subprocess
import sys

from checks import fail, finish  # noqa: E402 (tests/checks.py)

TRISIM = sys.argv[1]
ARGS = ["error", "--json", "--method", "fla", "--precision", "int16-emu",
        "--input", "uniform:100", "--chunk", "32", "--samples", "2",
        "--threads", "1"]


def run(extra, target=None):
    env = dict(os.environ)
    env.pop("TRISIM_HWY_TARGETS", None)
    if target:
        env["TRISIM_HWY_TARGETS"] = target
    p = subprocess.run([TRISIM, *ARGS, *extra], capture_output=True,
                       text=True, timeout=600, env=env)
    return p.returncode, p.stdout, p.stderr


outcomes = {"--scalar": run(["--scalar"])}
for target in ["AVX3", "AVX2", "SSE4", "SSSE3", "EMU128", "SCALAR"]:
    code, out, err = run([], target)
    if code == 2 and "TRISIM_HWY_TARGETS" in err:
        continue  # not supported here
    outcomes[target] = (code, out, err)

for name, (code, out, err) in outcomes.items():
    if code != 0:
        fail(f"{name}: exit {code}: {err.strip()[:200]}")
code, out, _ = outcomes["--scalar"]
if code == 0:
    report = json.loads(out)
    overflowed = sum(s["overflowed"] for s in report["steps"])
    if overflowed == 0:
        fail("no step reports the overflowed scale product")
    if report["T"]["nonfinite"] == 0:
        fail("the inverse reports no non-finite entries")
for name, outcome in outcomes.items():
    if outcome[1] != outcomes["--scalar"][1]:
        fail(f"{name}: JSON differs from --scalar")
if len(outcomes) < 2:
    fail("no SIMD target ran")
finish()
