"""Replays the FIXPIPE requantisation (int32 accumulator -> int8 storage) of
a dumped oracle run in numpy and exact rationals, independently of trisim.

For every cube step whose output was stored in int8 by requantisation
(manifest "output_scales.requantised"): I = codes_a @ codes_b (int64),
d = trunc10(fp32(s_a * s_b)), r = fp32(sign * I * d) gives the group amax,
s = fp32(amax) / fp32(127), M = fp32(d / s), q = RNE(sign * I * M) exactly,
saturated to [-127, 127]; the stored values must be q * s bit for bit.

Run by ctest as: /usr/bin/python3 requant_numpy_test.py TRISIM_BINARY
"""
import json
import os
import subprocess
import sys
import tempfile
from fractions import Fraction

import numpy as np

from checks import check, finish  # noqa: E402 (tests/checks.py)

TRISIM = sys.argv[1]



def trunc_mantissa(x, bits):
    """fp32 scale with its mantissa cut to `bits` fraction bits (toward 0)."""
    u = np.asarray(x, np.float32).view(np.uint32)
    return (u & np.uint32(~((1 << (23 - bits)) - 1) & 0xFFFFFFFF)).view(np.float32)


def rne(fraction):
    """Round a Fraction to the nearest integer, ties to even."""
    floor = fraction.numerator // fraction.denominator
    rest = fraction - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        return floor + 1
    return floor


rng = np.random.default_rng(7)
with tempfile.TemporaryDirectory() as tmp:
    recipe = os.path.join(tmp, "int8-storage.toml")
    with open(recipe, "w") as f:
        f.write('base = "int8"\nstorage = "int8"\n')
    a = np.tril(rng.uniform(0, 0.6, (16, 16)), -1).astype(np.float16)
    np.save(os.path.join(tmp, "a.npy"), a)
    dump = os.path.join(tmp, "dump")
    r = subprocess.run([TRISIM, "oracle", "--method", "neumann", "--order", "3",
                        "--steps", "2", "--precision", recipe, "--in",
                        "npy:" + os.path.join(tmp, "a.npy"), "--out",
                        os.path.join(tmp, "x.npy"), "--dump-stages", dump],
                       capture_output=True, text=True)
    check(r.returncode == 0, f"oracle: {r.stderr}")
    manifest = json.load(open(os.path.join(dump, "manifest.json")))
    mbits = manifest["recipe"]["scale_mantissa_bits"]
    replayed = 0
    for step in manifest["steps"]:
        stored = step.get("output_scales")
        if step["op"] != "matmul" or not stored or not stored["requantised"]:
            continue
        ops = step["operands"]
        qa = np.load(os.path.join(dump, ops[0]["codes"])).astype(np.int64)
        qb = np.load(os.path.join(dump, ops[1]["codes"])).astype(np.int64)
        sa = np.load(os.path.join(dump, ops[0]["scales"]))
        sb = np.load(os.path.join(dump, ops[1]["scales"]))
        check(sa.size == 1 and sb.size == 1, "per-tensor operand scales")
        sign = int(step["sign"])
        integer = sign * (qa @ qb)
        d = trunc_mantissa(np.float32(sa.item()) * np.float32(sb.item()), mbits)
        # fp32 results give the amax (exact product in float64, one rounding).
        r32 = (integer.astype(np.float64) * np.float64(d)).astype(np.float32)
        amax = np.float32(np.abs(r32).max())
        s = np.float32(amax / np.float32(127.0))
        dumped_s = np.load(os.path.join(dump, stored["file"]))
        check(dumped_s.view(np.uint32).item() == np.float32(s).view(np.uint32),
              f"step {step['index']}: output scale {dumped_s.item()} vs {s}")
        m = np.float32(d / s)
        m_exact = Fraction(float(m))
        q = np.array([[max(-127, min(127, rne(int(i) * m_exact))) for i in row]
                      for row in integer], np.int64)
        want = q.astype(np.float64) * np.float64(s)
        out = step["output"]
        got = np.load(os.path.join(dump, out["file"]))[
            out["rows"][0]:out["rows"][1], out["cols"][0]:out["cols"][1]]
        check(np.array_equal(got.view(np.uint64), want.view(np.uint64)),
              f"step {step['index']} ({step['name']}): stored values differ")
        replayed += 1
    check(replayed >= 3, f"replayed {replayed} requantised steps")

finish()
