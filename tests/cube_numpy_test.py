"""Replays the integer cube steps of `trisim oracle --dump-stages` in numpy.

Run by ctest as: /usr/bin/python3 cube_numpy_test.py <trisim>.
For every matmul step of int8 / int8-block16 / int16-emu runs it recomputes,
from the dumped buffers alone and with the semantics of sim/cube.h written
in numpy (not a port of sim/cube.cc):
  1. the requantisation of each operand view: s = fp32(amax) / fp32(qmax)
     (float32 division, clamped into [2^-126, 2^127]) per group,
     q = rint(fp32(x) / s) (numpy rint is half-even) clipped to +-qmax;
     codes and scale bits must equal the dumped ones;
  2. the integer products per k-group with the accumulator checked after
     every add (int64 cumulative sums), the dequant scale
     d = fp32(s_a * s_b) with its low 23 - scale_mantissa_bits bits cleared,
     and the exit: one k-group -> Round(sign * I * d) (the product is exact
     in float64: |I| < 2^31, d has 11 significant bits), several ->
     p = fp32(I * d), sum = fp32(sum + p) from +0, Round(sign * sum);
  3. the step output in the buffer file after the step, bit for bit.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from checks import fail, finish  # noqa: E402 (tests/checks.py)

trisim = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="trisim_cube_")
np.seterr(all="ignore")

QMAX = {"int4": 7, "int8": 127, "int16": 32767}
FLOAT_DTYPE = {"fp16": np.float16, "fp32": np.float32}


def bits(a):
    """Bit patterns of float values (zero signs kept)."""
    return np.ascontiguousarray(a).view(np.uint16 if a.dtype == np.float16 else np.uint32)


def view_of(d, v):
    buf = np.load(os.path.join(d, v["file"]))
    (r0, r1), (c0, c1) = v["rows"], v["cols"]
    return buf[r0:r1, c0:c1]


def quantize(x, group, qmax):
    """Codes and scales of one operand view (step 1 of the docstring)."""
    gr, gc = group
    rows, cols = x.shape
    x32 = x.astype(np.float32)  # stored fp16 values: exact
    tiles = np.abs(np.where(np.isfinite(x), x, 0)).reshape(rows // gr, gr, cols // gc, gc)
    amax = tiles.max(axis=(1, 3)).astype(np.float32)
    s = amax / np.float32(qmax)
    s = np.clip(s, np.float32(2.0 ** -126), np.float32(2.0 ** 127)).astype(np.float32)
    s_full = np.repeat(np.repeat(s, gr, axis=0), gc, axis=1)
    y = (x32 / s_full).astype(np.float32)
    q = np.clip(np.rint(np.nan_to_num(y, nan=0.0)), -qmax, qmax).astype(np.int64)
    return q, s


def accumulate(products, bits_, policy):
    """Integer accumulator of `bits_` bits over the last axis, checked after
    every add. Returns the final values."""
    lo, hi = -(1 << (bits_ - 1)), (1 << (bits_ - 1)) - 1
    sums = np.cumsum(products, axis=-1)
    if ((sums >= lo) & (sums <= hi)).all():
        return sums[..., -1]
    if policy == "wrap":  # wrapping is modular: only the final sum matters
        return (sums[..., -1] - lo) % (1 << bits_) + lo
    out = np.zeros(products.shape[:-1], np.int64)
    for k in range(products.shape[-1]):
        out = np.clip(out + products[..., k], lo, hi)
    return out


def split(q):
    lo = (q + 128) % 256 - 128
    return (q - lo) // 256, lo


def k_group_sum(qa, qb, emulated, acc_bits, policy):
    """I for every (i, j) of one k-group: qa [m, g], qb [g, n]."""
    if not emulated:
        return accumulate(qa[:, None, :] * qb.T[None, :, :], acc_bits, policy)
    (ah, al), (bh, bl) = split(qa), split(qb)
    piece = lambda x, y: accumulate(x[:, None, :] * y.T[None, :, :], 32, policy)
    return 65536 * piece(ah, bh) + 256 * (piece(ah, bl) + piece(al, bh)) + piece(al, bl)


def dequant_scale(sa, sb, mantissa_bits):
    p = (np.float32(sa) * np.float32(sb)).astype(np.float32)
    drop = max(23 - mantissa_bits, 0)
    keep = np.uint32((0xFFFFFFFF >> drop) << drop)
    return (p.view(np.uint32) & keep).view(np.float32)


def replay(d, step, recipe):
    name = f"step {step['index']} ({step['name']})"
    fmt = step["operand_format"]
    emulated = fmt == "int16" and recipe["int16"] == "emulated"
    qmax = 32639 if emulated else QMAX[fmt]
    acc_bits = {"int32": 32, "int48": 48, "int64": 64}[step["accumulator"]]
    policy = step["accumulator_overflow"]
    mbits = step["scale_mantissa_bits"]
    out_dtype = FLOAT_DTYPE[step["output_format"]]
    ops = []
    for k, (v, dumped) in enumerate(zip(step["inputs"], step["operands"])):
        q, s = quantize(view_of(d, v), dumped["group"], qmax)
        got_q = np.load(os.path.join(d, dumped["codes"]))
        got_s = np.load(os.path.join(d, dumped["scales"])).astype(np.float32)
        if not np.array_equal(got_q, q):
            fail(f"{name} operand {k}: {np.sum(got_q != q)} codes differ")
        if not np.array_equal(bits(got_s), bits(s)):
            fail(f"{name} operand {k}: scales differ")
        ops.append((q, s, dumped["group"]))
    groups = []  # (I [m, n], d [m, n]) per k-group, terms in order
    for (qa, sa, (a_rows, a_cols)), (qb, sb, (b_rows, b_cols)) in zip(ops[0::2], ops[1::2]):
        g = min(a_cols, b_rows)  # a k-group: both scales constant
        m, n = qa.shape[0], qb.shape[1]
        for k0 in range(0, qa.shape[1], g):
            integer = k_group_sum(qa[:, k0:k0 + g], qb[k0:k0 + g, :], emulated, acc_bits, policy)
            s_a = sa[np.arange(m) // a_rows, k0 // a_cols][:, None]
            s_b = sb[k0 // b_rows, np.arange(n) // b_cols][None, :]
            groups.append((integer, dequant_scale(s_a, s_b, mbits)))
    sign = step["sign"]
    if len(groups) == 1:
        integer, dq = groups[0]
        # IEEE signs (sim/cube.h): sign * (+0) = -0 for sign -1.
        want = (sign * integer.astype(np.float64) * dq.astype(np.float64)).astype(out_dtype)
    else:
        total = np.zeros(groups[0][0].shape, np.float32)
        for integer, dq in groups:
            total = (total + (integer.astype(np.float64) * dq.astype(np.float64)).astype(np.float32)).astype(np.float32)
        want = (sign * total.astype(np.float64)).astype(out_dtype)
    got = view_of(d, step["output"]).astype(out_dtype)
    bad = bits(got) != bits(want)
    bad &= ~(np.isnan(got) & np.isnan(want))
    if bad.any():
        i, j = np.argwhere(bad)[0]
        fail(f"{name}: {bad.sum()} of {bad.size} outputs differ, "
             f"first ({i}, {j}) got {got[i, j]!r} want {want[i, j]!r}")


rng = np.random.default_rng(5)
C = 64
a = np.tril(rng.standard_normal((C, C)) * 0.15, -1).astype(np.float32)
a[5, 2] = 0.0  # exact zeros and a few large entries for range
a[40, 3] = 3.0
np.save(os.path.join(tmp, "a.npy"), a)
replayed = 0
runs = [("int8", "neumann"), ("int8", "mbh"), ("int8-block16", "neumann"),
        ("int8-block16", "mxr"), ("int16-emu", "mch")]
for recipe, method in runs:
    d = os.path.join(tmp, f"{recipe}_{method}")
    r = subprocess.run([trisim, "oracle", "--method", method, "--precision", recipe,
                        "--in", "npy:" + os.path.join(tmp, "a.npy"),
                        "--out", os.path.join(tmp, f"{recipe}_{method}.npy"), "--dump-stages", d],
                       capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"oracle {recipe} {method}: {r.stderr.strip()}")
        continue
    manifest = json.load(open(os.path.join(d, "manifest.json")))
    steps = [s for s in manifest["steps"] if s["op"] == "matmul"]
    if not steps:
        fail(f"{recipe} {method}: no matmul steps in the dump")
    for step in steps:
        replayed += 1
        replay(d, step, manifest["recipe"])

print(f"replayed {replayed} integer cube steps")
finish()
