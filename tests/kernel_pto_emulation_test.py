"""Bit-exact check of `trisim oracle --kernel pto|pto-resident` (mch, mxr, mbh)
against an independent emulation of huawei-csl/pto-kernels
csrc/kernel/kernel_tri_inv_rec_unroll.cpp (v0.1.2; pto-resident: PR #238's
accumulator reuse), written from the kernel source.

How this emulation differs from trisim's executor: every value is an exact
Python integer (fp16 values in units of 2^-24, products and the fp32
accumulator in units of 2^-48; inf/NaN as Python floats), products are
object-dtype numpy matmuls over each 16-deep k fractal, and the fp32/fp16
roundings are integer round-half-even on the bit length. It follows the kernel
line by line (TMATMUL / TMATMUL_ACC / TMOV-from-L0C), not trisim's plan.
Assumptions shared with trisim (named settings, sim/cube.h): the fractal
accumulation order (each 16-product fractal summed exactly and rounded once
to fp32, then added to the accumulator with RNE), FIXPIPE fp32 -> fp16 with
round-to-nearest-even. NaN compares equal to NaN (payloads are not modelled).

Also: the issue's claim (the pto update vs today's `--method mch
--precision fp16`) and the mutation check (an extra FIXPIPE rounding must be
caught) - see the end.

Run by ctest as: /usr/bin/python3 kernel_pto_emulation_test.py TRISIM_BINARY
"""
import os
import sys
import tempfile

import numpy as np

from checks import check, finish  # noqa: E402 (tests/checks.py)
from emulation_support import (block_ones, gdn_a, mismatches,  # noqa: E402
                               rne_shift, run_oracle)

TRISIM = sys.argv[1]
QUICK = os.environ.get("TRISIM_QUICK", "") == "1"
ONE = 1 << 24  # 1.0 in units of 2^-24 (fp16 grid)


# ---- exact roundings on integers (units of 2^-48 for fp32 values) --------
def _round_bits(a, keep):
    """a > 0 integer rounded half-even to `keep` significant bits."""
    bl = a.bit_length()
    if bl <= keep:
        return a
    shift = bl - keep
    return rne_shift(a, shift) << shift


def _fp32(v):
    """A sum in units of 2^-48 rounded to fp32 (RNE); stays in 2^-48 units."""
    if isinstance(v, float):
        return v  # inf or nan
    if v == 0:
        return 0
    a = _round_bits(abs(v), 24)
    if a >= 1 << (128 + 48):
        return float("inf") if v > 0 else float("-inf")
    return a if v > 0 else -a


def _fp16(v):
    """An fp32 accumulator value (2^-48 units) rounded to fp16 (RNE), in
    units of 2^-24 (FIXPIPE fp32 -> fp16)."""
    if isinstance(v, float):
        return v
    if v == 0:
        return 0
    a = abs(v)
    # 11 significant bits for normals (>= 2^-14 = 2^34 units); subnormals
    # on the 2^-24 grid (a multiple of 2^24 units).
    shift = max(a.bit_length() - 11, 24)
    a = rne_shift(a, shift) << shift
    if a >= 1 << (16 + 48):
        return float("inf") if v > 0 else float("-inf")
    a >>= 24
    return a if v > 0 else -a


fp32_round = np.frompyfunc(_fp32, 1, 1)
fp16_round = np.frompyfunc(_fp16, 1, 1)


def mmad(acc, a, b):
    """TMATMUL(_ACC): acc (None = start at +0) + a @ b, fractal order: each
    k fractal's 16 products summed exactly, rounded once to fp32, added to
    the accumulator with one RNE. a, b: fp16 tiles in 2^-24 units."""
    n = a.shape[0]
    out = np.zeros((n, n), dtype=object) if acc is None else acc.copy()
    for f in range(0, n, 16):
        partial = fp32_round(np.dot(a[:, f:f + 16], b[f:f + 16, :]))
        out = fp32_round(out + partial)
    return out


def fixpipe_fp16(acc):
    return fp16_round(acc)


def to_units16(x16):
    """fp16 numpy array -> object array of ints (2^-24 units) / inf / nan."""
    out = np.empty(x16.shape, dtype=object)
    for idx, v in np.ndenumerate(x16.astype(np.float64)):
        out[idx] = int(v * ONE) if np.isfinite(v) else float(v)
    return out


def acc_to_float(acc):
    return np.array([[float(v) / 2.0**48 if not isinstance(v, float) else v
                      for v in row] for row in acc], dtype=np.float64)


def diag_blocks(src, block):
    """Zero tile + TEXTRACT of the diagonal blocks of size `block`."""
    n = src.shape[0]
    out = np.zeros((n, n), dtype=object)
    for s in range(0, n, block):
        out[s:s + block, s:s + block] = src[s:s + block, s:s + block]
    return out


def parity_blocks(src, block, parity):
    """CopyOddOrEvenBlocksL1ToL0: blocks 0, 2, ... (left) or 1, 3, ..."""
    n = src.shape[0]
    out = np.zeros((n, n), dtype=object)
    for blk in range(parity, n // block, 2):
        s = blk * block
        out[s:s + block, s:s + block] = src[s:s + block, s:s + block]
    return out


def pto_kernel(m, block, resident, want_x_l1=False):
    """InvertSingleTile on M (fp16 tile in 2^-24 units); returns the fp32
    output tile (2^-48 units) the kernel TSTOREs (or X_l1 after phase 1)."""
    n = m.shape[0]
    eye = np.zeros((n, n), dtype=object)
    for i in range(n):
        eye[i, i] = ONE
    i_neg = -eye
    zero = np.zeros((n, n), dtype=object)
    # PrepareAuxiliaryMatrices: I = (-I)(-I); Zero = I + (-I) I.
    c = mmad(None, i_neg, i_neg)
    i_l1 = fixpipe_fp16(c)
    c = mmad(c, i_neg, i_l1)
    zero_l1 = fixpipe_fp16(c)
    assert all(v == 0 for v in zero_l1.flat)
    # Phase 1 entry.
    d = diag_blocks(m, block)
    m_neg = fixpipe_fp16(mmad(None, i_neg, m))      # c0 = (-I) M
    y = fixpipe_fp16(mmad(None, d, d))              # c1 = D D
    c0 = mmad(None, d, i_neg)                       # c0 = D (-I)
    c0 = mmad(c0, i_neg, i_neg)                     # c0 += I
    x_l1 = fixpipe_fp16(c0)
    bs = 1
    while bs < block // 2:
        a0 = x_l1
        b1 = y                                      # Y before its update
        if not resident:
            c0 = mmad(None, a0, i_l1)               # c0 = X I
        if bs < block // 4:
            y = fixpipe_fp16(mmad(None, y, b1))     # c1 = Y Y
        c0 = mmad(c0, a0, b1)                       # c0 += X Y
        x_l1 = fixpipe_fp16(c0)
        bs *= 2
    if want_x_l1:
        return x_l1
    if block >= n:
        return c0
    # Phase 2.
    bs = block
    c1 = None
    while bs < n:
        lx = parity_blocks(x_l1, bs, 0)
        rx = parity_blocks(x_l1, bs, 1)
        c0 = mmad(None, i_l1, i_l1)                 # c0 = I I
        c1 = mmad(None, lx, i_l1)                   # c1 = LX I
        c0 = mmad(c0, lx, m_neg)                    # c0 += LX M_neg
        y_l1 = fixpipe_fp16(c0)
        c1 = mmad(c1, y_l1, rx)                     # c1 += Y RX
        if bs < n // 2:
            x_l1 = fixpipe_fp16(c1)
        bs *= 2
    return c1


def emulate(l16, block, resident):
    """X for strictly lower L (fp16): the kernel runs on M = L^T."""
    m = to_units16(l16.T)
    return acc_to_float(pto_kernel(m, block, resident)).T


def make_inputs(c, rng):
    """name -> [n, c, c] strictly lower fp16 inputs."""
    def lower(x):
        return np.tril(x, -1)
    ins = {}
    count = 1 if c >= 128 else 2
    ins["uniform0.1"] = lower(rng.uniform(0, 0.1, (count, c, c)))
    ins["uniform0.5"] = lower(rng.uniform(0, 0.5, (count, c, c)))
    ins["ones"] = lower(np.ones((1, c, c)))
    ins["block-ones"] = block_ones(c)
    # Near the fp16 range: entries up to 60000 (products overflow fp16).
    ins["near-range"] = lower(rng.uniform(-60000, 60000, (1, c, c)))
    # Signed zeros: -0 and +0 mixed with small values.
    sz = lower(rng.uniform(-0.3, 0.3, (1, c, c)))
    sz[rng.random(sz.shape) < 0.5] = 0.0
    sz = np.where(rng.random(sz.shape) < 0.5, -np.abs(sz), sz)
    sz = np.tril(sz, -1)
    sz[0][np.triu_indices(c)] = 0.0
    sz[0][np.tril_indices(c, -1)] = np.where(sz[0][np.tril_indices(c, -1)] == 0,
                                              -0.0, sz[0][np.tril_indices(c, -1)])
    ins["signed-zeros"] = sz
    return {k: v.astype(np.float16) for k, v in ins.items()}


def oracle(tmp, tag, a, method, kernel, extra=()):
    """`trisim oracle` with the pto-fp16 recipe (run_oracle; up to 30 minutes:
    C = 128 cases are long)."""
    return run_oracle(TRISIM, tmp, tag, a,
                      ["--method", method, "--kernel", kernel, "--precision",
                       "pto-fp16", *extra], timeout=1800)


def gdn_inputs(c):
    """GDN-like A built in numpy (emulation_support.gdn_a: keys normalised,
    beta, decays; its own generator seeded by C), rounded to fp16."""
    count = 1 if c >= 128 else 2
    return gdn_a(np.random.default_rng(c), c, count).astype(np.float16)


SUMMARY = []


def compare_case(tmp, method, kernel, c, name, a, block, resident):
    extra = ()
    if method == "mbh":
        extra = ("--block", str(block))
    got = oracle(tmp, f"{method}_{kernel}_{c}_{name}", a, method, kernel,
                 extra)
    if got is None:
        return
    check(got.dtype == np.float32, f"{method} {kernel}: output {got.dtype}")
    mism = 0
    for s in range(a.shape[0]):
        want = emulate(a[s], block, resident)
        mism += mismatches(got[s], want)
    entries = a.size
    SUMMARY.append((method, kernel, c, name, entries, mism))
    check(mism == 0, f"{method} {kernel} C={c} {name}: {mism} of {entries} "
          "entries differ from the emulation")


rng = np.random.default_rng(11)
with tempfile.TemporaryDirectory() as tmp:
    chunks = [16, 32, 64] if QUICK else [16, 32, 64, 128]
    for c in chunks:
        inputs = make_inputs(c, rng)
        inputs["gdn"] = gdn_inputs(c)
        for name, a in inputs.items():
            for kernel, resident in (("pto", False), ("pto-resident", True)):
                compare_case(tmp, "mxr", kernel, c, name, a, min(16, c),
                             resident)
                mch_inputs = (("uniform0.1", "gdn") if c >= 128 else
                              ("uniform0.1", "gdn", "signed-zeros",
                               "near-range"))
                if name in mch_inputs:
                    compare_case(tmp, "mch", kernel, c, name, a, c, resident)
                if name in ("uniform0.5", "gdn", "block-ones"):
                    compare_case(tmp, "mbh", kernel, c, name, a, min(32, c),
                                 resident)

    # The doubling-block setting (pto-kernels issue #242): mxr block=32.
    c = 64
    a = make_inputs(c, rng)["uniform0.1"]
    for kernel, resident in (("pto", False), ("pto-resident", True)):
        got = oracle(tmp, f"blk_{kernel}", a, "mxr", kernel + ":block=32")
        if got is not None:
            mism = sum(mismatches(got[s], emulate(a[s], 32, resident))
                       for s in range(a.shape[0]))
            SUMMARY.append(("mxr", kernel + ":block=32", c, "uniform0.1",
                            a.size, mism))
            check(mism == 0, f"mxr {kernel} block=32: {mism} differ")

    # The claim: the pto update (X + X Y summed in L0C, one FIXPIPE
    # to fp16) vs today's math-level `--method mch --precision fp16` (X Y
    # rounded to fp16, added on the vector unit) on 8 random 16 x 16 inputs.
    a = np.tril(np.random.default_rng(2026).uniform(0, 0.5, (8, 16, 16)),
                -1).astype(np.float16)
    plan_x = run_oracle(TRISIM, tmp, "claim", a,
                        ["--method", "mch", "--precision", "fp16"],
                        timeout=120)
    if plan_x is not None:
        differ = 0
        max_ulp = 0
        for s in range(8):
            xk = pto_kernel(to_units16(a[s].T), 16, False, want_x_l1=True)
            xk = np.array([[float(v) / ONE for v in row] for row in xk]).T
            xk = xk.astype(np.float16)
            d = (xk.view(np.int16).astype(int) -
                 plan_x[s].view(np.int16).astype(int))
            differ += int((d != 0).sum())
            max_ulp = max(max_ulp, int(np.abs(d).max()))
        print(f"claim: pto phase-1 X (fp16) vs trisim mch fp16 plan: {differ} "
              f"of 2048 entries differ, up to {max_ulp} ulp")
        check(differ > 0,
              "the math-level mch plan should differ from the kernel")

for row in SUMMARY:
    print("agreement: method=%s kernel=%s C=%d input=%s entries=%d "
          "mismatches=%d" % row)
finish()
