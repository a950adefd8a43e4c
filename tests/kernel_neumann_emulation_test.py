"""Bit-exact check of `trisim oracle --method neumann --kernel pto|pto-resident`
against an independent emulation of the kernel as its design document
(core/kernels/neumann_pto.cc) specifies it: Horner series summed in L0C,
the block mask by fractal extraction, residual steps with every sum in L0C
(richardson, newton and the product form), FIXPIPE the only rounding.

How this emulation differs from trisim's executor:
- fp16 operands (recipe pto-fp16): every value is an exact Python integer
  (fp16 tiles in units of 2^-24, products and the fp32 accumulator in
  units of 2^-48); each 16-deep k fractal is an object-dtype numpy matmul
  summed exactly, then rounded to fp32 by integer round-half-even on the bit
  length (the fractal order of sim/cube.h, a named assumption shared with
  trisim); FIXPIPE to fp16 / fp32 likewise on integers.
- int8 / int16 operands (recipes int8, int8-block16, int16-emu): the scale
  rule is computed with numpy float32 arithmetic (IEEE single, one division
  fp32(amax) / fp32(qmax), codes rint(fp32(x) / s) saturated), the k-group
  sums are exact int64 dot products of the codes (int16 codes multiplied
  directly, not as trisim's four int8 pieces: the recombination is checked
  too), the dequant scale is the fp32 product with its mantissa truncated to
  the recipe's bits by masking the bit pattern, p = fp32(I * d) from the
  exact float64 product, and the L0C sum is numpy float32 addition.
Inputs: random (uniform), gdn-like A, and extreme ones (all-ones, block-ones,
values near the format's range, signed zeros) at C = 16, 32, 64, 128, fp16
and int8 at every C, int16-emu and int8-block16 at two.

Mutation check: a deliberate change of one rounding point in the emulation
(an extra fp16 rounding of the seeded X I in pto-resident, i.e. pto's bits)
must be caught on the same inputs. (Flipping a rounding point in trisim's
kernel - `accumulate` of its X seed - was checked by hand: see the report.)

Run by ctest as: /usr/bin/python3 kernel_neumann_emulation_test.py TRISIM
"""
import sys
import tempfile

import numpy as np

from checks import check, finish  # noqa: E402 (tests/checks.py)
from emulation_support import (block_ones, gdn_a, mismatches,  # noqa: E402
                               rne_shift, run_oracle)

TRISIM = sys.argv[1]
ONE = 1 << 24  # 1.0 in fp16 units (2^-24)


# ---- fp16 operands: exact integers ---------------------------------------
def _to_fp32(v):
    """2^-48 units -> nearest fp32 (ties to even), still in 2^-48 units."""
    if isinstance(v, float) or v == 0:
        return v
    a = abs(v)
    # fp32: 24 significant bits; subnormal grid 2^-149 is far below 2^-48.
    shift = a.bit_length() - 24
    a = rne_shift(a, shift) << shift if shift > 0 else a
    if a >= (1 << 128) << 48:
        return float("inf") if v > 0 else float("-inf")
    return a if v > 0 else -a


def _to_fp16(v):
    """2^-48 units -> nearest fp16 (ties to even), in 2^-24 units."""
    if isinstance(v, float):
        return v
    if v == 0:
        return 0
    a = abs(v)
    shift = max(a.bit_length() - 11, 24)  # 11 bits; grid 2^-24 = 2^24 units
    q = rne_shift(a, shift)
    a = q << (shift - 24)
    if a >= 65520 * ONE:  # rounds to inf past max finite + half ulp
        return float("inf") if v > 0 else float("-inf")
    return a if v > 0 else -a


R32 = np.frompyfunc(_to_fp32, 1, 1)
R16 = np.frompyfunc(_to_fp16, 1, 1)


class Fp16Cube:
    """pto-fp16: fp16 L1/L0 tiles (2^-24 units), fp32 L0C (2^-48 units)."""

    def __init__(self, n):
        self.n = n
        self.eye = np.zeros((n, n), dtype=object)
        np.fill_diagonal(self.eye, ONE)
        self.zero = np.zeros((n, n), dtype=object)

    def tile(self, x16):
        out = np.empty(x16.shape, dtype=object)
        for idx, v in np.ndenumerate(x16.astype(np.float64)):
            out[idx] = int(v * ONE) if np.isfinite(v) else float(v)
        return out

    def mmad(self, acc, a, b):
        """acc (None: +0) + a b, one fractal (16 k) at a time."""
        out = self.zero.copy() if acc is None else acc.copy()
        for f in range(0, self.n, 16):
            out = R32(out + R32(np.dot(a[:, f:f + 16], b[f:f + 16, :])))
        return out

    def fix(self, acc):  # FIXPIPE to an fp16 L1 tile
        return R16(acc)

    def out(self, acc):  # FIXPIPE to GM, fp32 output
        return np.array([[v / 2.0**48 if not isinstance(v, float) else v
                          for v in row] for row in acc], dtype=np.float32)


# ---- integer operands: numpy float32 / int64 ------------------------------
class IntCube:
    """int8 / int16 operands quantised per tile (or per b x b block) from
    float L1 tiles; storage and output `store` (np.float16 or np.float32)."""

    def __init__(self, n, qmax, block, mantissa_bits, store):
        self.n, self.qmax, self.store = n, qmax, store
        self.block = block or n
        self.mbits = mantissa_bits
        self.eye = np.eye(n, dtype=store)
        self.zero = np.zeros((n, n), dtype=store)

    def tile(self, x16):
        return x16.astype(self.store)

    def quantise(self, x):
        """codes (int64) and per-block scales (float32)."""
        b = self.block
        x32 = x.astype(np.float32)
        nb = self.n // b
        scales = np.empty((nb, nb), dtype=np.float32)
        codes = np.empty((self.n, self.n), dtype=np.int64)
        for i in range(nb):
            for j in range(nb):
                blk = x32[i * b:(i + 1) * b, j * b:(j + 1) * b]
                finite = np.abs(blk[np.isfinite(blk)])  # amax of finite ones
                amax = np.float32(finite.max() if finite.size else 0.0)
                with np.errstate(all="ignore"):
                    s = np.float32(amax / np.float32(self.qmax))
                    if not s >= np.float32(2.0**-126):
                        s = np.float32(2.0**-126)
                    s = min(s, np.float32(2.0**127))
                    y = np.rint(blk / s)  # float32 division, ties to even
                y = np.where(np.isnan(y), 0, np.clip(y, -self.qmax, self.qmax))
                scales[i, j] = s
                codes[i * b:(i + 1) * b, j * b:(j + 1) * b] = y.astype(np.int64)
        return codes, scales

    def truncate(self, d):
        if self.mbits >= 23:
            return d
        bits = np.array([d], dtype=np.float32).view(np.uint32)
        bits &= np.uint32(~((1 << (23 - self.mbits)) - 1) & 0xFFFFFFFF)
        return bits.view(np.float32)[0]

    def mmad(self, acc, a, b):
        qa, sa = self.quantise(a)
        qb, sb = self.quantise(b)
        out = (np.zeros((self.n, self.n), dtype=np.float32) if acc is None
               else acc.copy())
        bs = self.block
        for g in range(self.n // bs):  # k groups in k order
            ints = qa[:, g * bs:(g + 1) * bs] @ qb[g * bs:(g + 1) * bs, :]
            for i in range(self.n):
                for j in range(self.n):
                    d = self.truncate(np.float32(sa[i // bs, g] *
                                                 sb[g, j // bs]))
                    p = np.float32(float(ints[i, j]) * float(d))
                    out[i, j] = np.float32(out[i, j] + p)
        return out

    def fix(self, acc):
        return acc.astype(self.store)

    def out(self, acc):
        return acc.astype(self.store)


# ---- the kernel -----------------------------------------------------------
def neumann_pto(cube, l_tile, order, steps, form, mask_block, resident,
                mutate=False):
    """The per-chunk sequence of core/kernels/neumann_pto.cc, written from
    its design comment; returns the tile stored to GM."""
    n = cube.n
    eye, zero = cube.eye, cube.zero
    i_neg = -eye
    i_l1 = cube.fix(cube.mmad(None, i_neg, i_neg))
    c0 = cube.mmad(None, i_neg, l_tile)
    lneg = cube.fix(c0)
    mneg = cube.fix(cube.mmad(c0, i_neg, i_l1))
    if mask_block is not None and (mask_block >= n or order == 0):
        mask_block = None  # keeps everything: the kernel issues nothing
    x0 = i_l1
    last = cube.mmad(None, i_l1, i_l1)  # N = 0, S = 0: X = I
    for _ in range(order):  # Horner in L0C
        c0 = cube.mmad(cube.mmad(None, i_l1, i_l1), lneg, x0)
        last = c0
        x0 = cube.fix(c0)
    if mask_block is not None:
        m = zero.copy()
        for s in range(0, n, mask_block):
            m[s:s + mask_block, s:s + mask_block] = \
                x0[s:s + mask_block, s:s + mask_block]
        c1 = cube.mmad(None, m, i_l1)
        if steps == 0:
            return cube.out(c1)
        x0 = cube.fix(c1)
    if steps == 0:
        return cube.out(last)
    x = x0
    c1 = cube.mmad(None, x0, i_l1) if resident else None
    p = None
    if form == "product":
        p = cube.fix(cube.mmad(cube.mmad(None, i_l1, i_l1), mneg, x0))
    for s in range(1, steps + 1):
        r = p if form == "product" else cube.fix(
            cube.mmad(cube.mmad(None, i_l1, i_l1), mneg, x))
        y = x0 if form == "richardson" else x
        if not resident:
            c1 = cube.mmad(None, x, i_l1)
        c1 = cube.mmad(c1, y, r)
        if s == steps:
            return cube.out(c1)
        x = cube.fix(c1)
        if mutate and resident:  # an extra rounding: X re-seeded from fp16
            c1 = cube.mmad(None, x, i_l1)
        if form == "product":
            p = cube.fix(cube.mmad(None, p, p))


# ---- inputs -----------------------------------------------------------------
def make_inputs(c, rng, count):
    lower = lambda x: np.tril(x, -1)  # noqa: E731
    ins = {"uniform0.1": lower(rng.uniform(0, 0.1, (count, c, c))),
           "uniform-signed0.3": lower(rng.uniform(-0.3, 0.3, (count, c, c))),
           "ones": lower(np.ones((1, c, c)))}
    ins["block-ones"] = block_ones(c)
    ins["near-range"] = lower(rng.uniform(-60000, 60000, (1, c, c)))
    sz = lower(rng.uniform(-0.3, 0.3, (1, c, c)))
    sz[rng.random(sz.shape) < 0.5] = 0.0
    low = np.tril_indices(c, -1)
    sz[0][low] = np.where(sz[0][low] == 0, -0.0, sz[0][low])
    ins["signed-zeros"] = sz
    # gdn-like A: beta K K^T exp(G_i - G_j), keys with a shared direction.
    ins["gdn"] = gdn_a(rng, c, count)
    return {k: v.astype(np.float16) for k, v in ins.items()}


RECIPES = {  # name -> cube factory (n) and the output dtype
    "pto-fp16": (lambda n: Fp16Cube(n), np.float32),
    "int8": (lambda n: IntCube(n, 127, None, 10, np.float16), np.float16),
    "int8-block16": (lambda n: IntCube(n, 127, 16, 10, np.float16),
                     np.float16),
    "int16-emu": (lambda n: IntCube(n, 32639, None, 23, np.float32),
                  np.float32),
}

SUMMARY = []


def run_case(tmp, c, recipe, kernel, opts, name, a):
    order, steps, form, mask = opts
    tag = f"{c}_{recipe}_{kernel}_{form}_{name}"
    args = ["--method", "neumann", "--kernel", kernel, "--precision", recipe,
            "--order", str(order), "--steps", str(steps), "--residual", form]
    if mask:
        args += ["--mask", f"block:{mask}"]
    got = run_oracle(TRISIM, tmp, tag, a, args)
    if got is None:
        return None
    factory, dtype = RECIPES[recipe]
    check(got.dtype == dtype, f"{tag}: output {got.dtype}")
    mism = 0
    for s in range(a.shape[0]):
        cube = factory(c)
        want = neumann_pto(cube, cube.tile(a[s]), order, steps, form, mask,
                           kernel == "pto-resident")
        mism += mismatches(got[s], want)
    SUMMARY.append((c, recipe, kernel, f"N={order} S={steps} {form}" +
                    (f" mask=block:{mask}" if mask else ""), name, a.size,
                    mism))
    check(mism == 0, f"{tag}: {mism} of {a.size} entries differ")
    return got


rng = np.random.default_rng(12)
# Per C: (order, steps) small enough for exact Python-integer emulation to
# stay quick at large C (each Mmad is C^3 Python multiplications).
PLAN = {16: (3, 8), 32: (3, 8), 64: (3, 2), 128: (1, 1)}
with tempfile.TemporaryDirectory() as tmp:
    for c, (order, steps) in PLAN.items():
        count = 1 if c >= 64 else 2
        inputs = make_inputs(c, rng, count)
        for name, a in inputs.items():
            big = c >= 64 and name not in ("uniform0.1", "gdn", "near-range")
            for kernel in ("pto", "pto-resident"):
                if big and kernel == "pto-resident":
                    continue
                for recipe in ("pto-fp16", "int8"):
                    run_case(tmp, c, recipe, kernel,
                             (order, steps, "richardson", None), name, a)
            if c <= 32 or name == "gdn":
                for form in ("newton", "product"):
                    run_case(tmp, c, "pto-fp16", "pto-resident",
                             (order, steps, form, None), name, a)
        a = inputs["gdn"]
        if c in (32, 64):
            for recipe in ("int16-emu", "int8-block16"):
                run_case(tmp, c, recipe, "pto", (order, steps, "richardson",
                                                 None), "gdn", a)
            run_case(tmp, c, "pto-fp16", "pto",
                     (order, steps, "product", 16), "gdn", a)
        if c <= 32:  # edge structures: no series, no steps, mask only
            for opts in ((0, 2, "richardson", None), (2, 0, "richardson",
                                                      None),
                         (3, 0, "newton", 16), (0, 0, "richardson", None)):
                run_case(tmp, c, "pto-fp16", "pto", opts, "uniform0.1",
                         inputs["uniform0.1"])

    # Mutation: an extra fp16 rounding of the resident X seed must be seen.
    c = 32
    a = make_inputs(c, np.random.default_rng(5), 2)["uniform-signed0.3"]
    got = run_case(tmp, c, "pto-fp16", "pto-resident",
                   (3, 4, "richardson", None), "mutation-base", a)
    if got is not None:
        mutated = sum(mismatches(got[s], neumann_pto(
            Fp16Cube(c), Fp16Cube(c).tile(a[s]), 3, 4, "richardson", None,
            True, mutate=True)) for s in range(a.shape[0]))
        print(f"mutation: {mutated} of {a.size} entries differ")
        check(mutated > 0, "a mutated rounding point went unnoticed")

    # The kernel is not the math-level plan: same method, other bits.
    a = make_inputs(32, np.random.default_rng(9), 2)["gdn"]
    plan = run_oracle(TRISIM, tmp, "plan", a,
                      ["--method", "neumann", "--precision", "pto-fp16"])
    if plan is not None:
        kern = np.array([neumann_pto(Fp16Cube(32), Fp16Cube(32).tile(a[s]),
                                     3, 8, "richardson", None, False)
                         for s in range(a.shape[0])])
        d = mismatches(plan, kern)
        print(f"plan vs pto kernel (fp16, C = 32, gdn): {d} of {a.size} "
              "entries differ")
        check(d > 0, "the math-level plan should differ from the kernel")

for row in SUMMARY:
    print("agreement: C=%d recipe=%s kernel=%s %s input=%s entries=%d "
          "mismatches=%d" % row)
finish()
