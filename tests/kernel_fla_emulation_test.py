"""Bit-exact check of `trisim oracle --method fla --kernel NAME` for the three
fla kernels against independent emulations written from the public sources:

  fla-gpu        fla-org/flash-linear-attention fla/ops/gated_delta_rule/
                 chunk_fwd.py chunk_gated_delta_rule_fwd_kkt_solve_kernel
                 (v0.5.2-47-gbc3b101), C = 64
  triton-ascend  sgl-project/sgl-kernel-npu python/sgl_kernel_npu/
                 sgl_kernel_npu/fla/solve_tril.py (2026.08.21), C = 16/32/64
  tilelang       huawei-csl/gdn-tri-inverse src/gdn_tri_inverse/
                 tilelang_chunk_gdn/opt_gdn_solve_tril.py (d12ad04),
                 C = 32/64/128

How these emulations differ from trisim's executor: the vector-side fp32
arithmetic is numpy float32 on whole tensors as the kernels write it
(b_a[:, None] * b_A, the sum over axis 0, where/insert_slice), not a
per-element double-then-round loop; every cube product (tl.dot / gemm_v0) is
exact Python integer arithmetic (values in units of 2^-300, so every fp32 and
fp16 value and every product is an integer; inf/NaN as Python floats) with
integer round-half-even to fp32, in the accumulation order of the recipe
(sequential: one FMA rounding per k, the IEEE-fp32 model of a GPU tensor
core; fractal: each k0-deep fractal summed exactly, rounded once, added with
one rounding, sim/cube.h). TF32 operands round by the fp32 bit trick of
cvt.rna (add 2^12, clear 13 bits). The dtype casts are numpy's float32 ->
float16 (round to nearest even).

Assumptions shared with trisim (named kernel settings): the reduction order
of tl.sum / reduce_sum over rows (fla-gpu halving, triton-ascend and
tilelang sequential by default; both orders are checked), and fla-gpu's
dot_add = accumulate (Triton folds dot(a, b) + c into the dot's
accumulator). NaN compares equal to NaN (payloads are not modelled); zeros
compare with their sign.

Mutation check: the same comparison with one rounding point of the
emulation moved (the vector sum rounded in the other order, or the fp32
product dropped for an exact one) must report mismatches.

Run by ctest as: /usr/bin/python3 kernel_fla_emulation_test.py TRISIM_BINARY
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

from checks import check, finish  # noqa: E402 (tests/checks.py)
from emulation_support import (block_ones, gdn_a, mismatches,  # noqa: E402
                               rne_shift, run_oracle)

TRISIM = sys.argv[1]
np.seterr(all="ignore")  # inf/NaN are part of the extreme inputs
SHIFT = 300           # values are integers in units of 2^-300
F32_QUANTUM = 151     # fp32 subnormal quantum 2^-149 in 2^-300 units (bits)
F16_QUANTUM = 276     # fp16 subnormal quantum 2^-24


# ---- exact values ---------------------------------------------------------
def _to_units(v):
    v = float(v)
    if not np.isfinite(v):
        return v
    m, e = np.frexp(v)  # v = m * 2^e, |m| in [0.5, 1)
    return int(np.ldexp(m, 53)) << (int(e) - 53 + SHIFT) if v != 0 else 0


def _to_float(x):
    if isinstance(x, float):
        return x
    return float(x) * 2.0 ** -SHIFT


def _round(x, keep, quantum, max_exp):
    """Round-half-even of an exact integer value to `keep` significant bits
    with subnormal quantum 2^quantum (units), overflow past 2^max_exp -> inf."""
    if isinstance(x, float):
        return x
    if x == 0:
        return 0
    a = abs(x)
    shift = max(a.bit_length() - keep, quantum)
    if shift > 0:
        a = rne_shift(a, shift) << shift
    if a >= 1 << (max_exp + SHIFT):
        return float("inf") if x > 0 else float("-inf")
    return a if x > 0 else -a


def _r32(x):
    return _round(x, 24, F32_QUANTUM, 128)


def _mul(x, y):
    if isinstance(x, float) or isinstance(y, float):
        return _to_float(x) * _to_float(y)
    return (x * y) >> SHIFT  # exact: both are multiples of 2^-149


def _add(x, y):
    if isinstance(x, float) or isinstance(y, float):
        return _to_float(x) + _to_float(y)
    return x + y


units = np.frompyfunc(_to_units, 1, 1)
r32 = np.frompyfunc(_r32, 1, 1)
mul = np.frompyfunc(_mul, 2, 1)
add = np.frompyfunc(_add, 2, 1)
to_float = np.frompyfunc(_to_float, 1, 1)


def as_f32(x):
    return np.array(to_float(x), dtype=np.float64).astype(np.float32)


def tf32_rna(x32):
    """cvt.rna.tf32.f32 on fp32 values: nearest, ties away (bit trick)."""
    u = x32.astype(np.float32).view(np.uint32).astype(np.uint64)
    finite = np.isfinite(x32)
    r = ((u + 0x1000) & 0xFFFFE000).astype(np.uint32).view(np.float32)
    return np.where(finite, r, x32).astype(np.float32)


def dot(a32, b32, order, k0=8, acc=None):
    """fp32 accumulator (exact units) + a @ b; a, b fp32/fp16 numpy values
    already in the operand format. order: sequential (FMA per k) or fractal
    (k0 products summed exactly, one rounding, one add)."""
    a = units(a32.astype(np.float64))
    b = units(b32.astype(np.float64))
    m, k = a.shape
    n = b.shape[1]
    out = np.zeros((m, n), dtype=object) if acc is None else acc.copy()
    if order == "sequential":
        for t in range(k):
            out = r32(add(out, mul(a[:, t:t + 1], b[t:t + 1, :])))
        return out
    for f in range(0, k, k0):
        part = np.zeros((m, n), dtype=object)
        for t in range(f, min(f + k0, k)):
            part = add(part, mul(a[:, t:t + 1], b[t:t + 1, :]))
        out = r32(add(out, r32(part)))
    return out


def _nan_to_zero(x):
    return 0 if isinstance(x, float) and x != x else x


nan_to_zero = np.frompyfunc(_nan_to_zero, 1, 1)


def dot3(a32, b32, acc=None):
    """Triton's tf32x3 (F32DotTC): hi = tf32(x), lo = tf32(x - hi); t = +0;
    t += lo_a hi_b; t += hi_a lo_b; NaN -> +0; t += hi_a hi_b (each a
    sequential fp32 dot); then the incoming accumulator + t."""
    ha, hb = tf32_rna(a32), tf32_rna(b32)
    la, lb = tf32_rna(a32 - ha), tf32_rna(b32 - hb)
    t = dot(la, hb, "sequential")
    t = dot(ha, lb, "sequential", acc=t)
    t = nan_to_zero(t)
    t = dot(ha, hb, "sequential", acc=t)
    return t if acc is None else r32(add(acc, t))


def reduce_rows(p, order):
    """Sum over axis 0 in fp32 (numpy float32 adds)."""
    p = p.copy()
    if order == "sequential":
        s = p[0].copy()
        for k in range(1, p.shape[0]):
            s = s + p[k]
        return s
    h = p.shape[0] // 2
    while h >= 1:
        p[:h] = p[:h] + p[h:2 * h]
        h //= 2
    return p[0]


# ---- fla-gpu --------------------------------------------------------------
def fla_gpu(a_in, order, operand, dot_add="accumulate", mutate=False):
    """chunk_gated_delta_rule_fwd_kkt_solve_kernel, steps 3-5, C = 64."""
    A = a_in.astype(np.float32)  # b_A in fp32 registers
    bc = 16
    nb = A.shape[0] // bc
    blk = lambda i, j: A[i * bc:(i + 1) * bc, j * bc:(j + 1) * bc]  # noqa
    ai = {}
    eye = np.eye(bc, dtype=np.float32)
    for i in range(nb):
        x = -blk(i, i)
        for r in range(2, bc):
            b_a = x[r].copy()
            if mutate:  # rounding points dropped: the row sum in fp64
                p = b_a[:, None].astype(np.float64) * x
                x[r] = (b_a + reduce_rows(p, order)).astype(np.float32)
            else:
                p = b_a[:, None] * x
                x[r] = b_a + reduce_rows(p, order)
        ai[(i, i)] = x + eye

    def op(v):
        return tf32_rna(v) if operand == "tf32" else v.astype(np.float32)

    def d(a, b, acc=None):
        if operand == "tf32x3":
            return dot3(a.astype(np.float32), b.astype(np.float32), acc)
        return dot(op(a), op(b), "sequential", acc=acc)

    for dist in range(1, nb):
        for i in range(dist, nb):
            j = i - dist
            if dist == 1:
                inner = as_f32(d(ai[(i, i)], blk(i, j)))
                outer = as_f32(d(inner, ai[(j, j)]))
            else:
                if dot_add == "accumulate":
                    acc = None
                    for k in range(j, i):
                        acc = d(blk(i, k), ai[(k, j)], acc)
                    inner = as_f32(acc)
                else:
                    inner = None
                    for k in range(j, i):
                        part = as_f32(d(blk(i, k), ai[(k, j)]))
                        inner = part if inner is None else inner + part
                outer = as_f32(d(ai[(i, i)], inner))
            ai[(i, j)] = -outer
    out = np.zeros(A.shape, dtype=np.float32)
    for (i, j), v in ai.items():
        out[i * bc:(i + 1) * bc, j * bc:(j + 1) * bc] = v
    return out


# ---- triton-ascend --------------------------------------------------------
def triton_k1(a16, order, mutate=False):
    """solve_tril_16x16_kernel_paral_v3 on the diagonal blocks of one chunk
    (the (N_BLOCKS, 16, 16) tensor of the kernel, here N_BLOCKS = C / 16)."""
    c = a16.shape[0]
    nb = c // 16
    b_A = np.stack([a16[s:s + 16, s:s + 16].astype(np.float32)
                    for s in range(0, c, 16)])
    local_ori = b_A.copy()
    rows = np.arange(16, dtype=np.float32)[:, None]
    cols = np.arange(16, dtype=np.float32)[None, :]
    is_lower = (rows > cols).astype(np.float32)
    b_A = -b_A * is_lower
    for i in range(1, 16):
        b_a = -local_ori[:, i, :]  # (N_BLOCKS, 16)
        dot_tmp = np.transpose(b_a[:, :, None] * b_A, (1, 0, 2))
        if mutate:
            dot_tmp = dot_tmp[::-1]  # the other summation order
        if order == "sequential":
            s = dot_tmp[0].copy()
            for k in range(1, 16):
                s = s + dot_tmp[k]
        else:
            p = dot_tmp.copy()
            h = 8
            while h >= 1:
                p[:h] = p[:h] + p[h:2 * h]
                h //= 2
            s = p[0]
        b_A[:, i, :] = b_a + s
    diag = np.arange(16)
    b_A[:, diag, diag] = b_A[:, diag, diag] + np.float32(1.0)
    return b_A  # (N_BLOCKS, 16, 16) fp32 = Ad


def triton_ascend(a16, order, mutate=False):
    c = a16.shape[0]
    ad = triton_k1(a16, order, mutate)
    if c == 16:
        return ad[0]
    A = a16.astype(np.float32)
    out = np.zeros((c, c), dtype=np.float32)  # torch.zeros_like

    def d(x, y):
        return as_f32(dot(x, y, "fractal", k0=8))

    if c == 32:
        ai21 = -d(d(ad[1], A[16:32, 0:16]), ad[0])
        out[0:16, 0:16] = ad[0]
        out[16:32, 16:32] = ad[1]
        out[16:32, 0:16] = ai21
        return out
    ai21 = -d(d(ad[1], A[16:32, 0:16]), ad[0])
    ai43 = -d(d(ad[3], A[48:64, 32:48]), ad[2])
    ai22_32 = np.zeros((32, 32), np.float32)
    ai22_32[0:16, 0:16] = ad[2]
    ai22_32[16:32, 16:32] = ad[3]
    ai22_32[16:32, 0:16] = ai43
    tmp = d(ai22_32, A[32:64, 0:32])
    ai11_32 = np.zeros((32, 32), np.float32)
    ai11_32[0:16, 0:16] = ad[0]
    ai11_32[16:32, 16:32] = ad[1]
    ai11_32[16:32, 0:16] = ai21
    ai21_32 = -d(tmp, ai11_32)
    out[0:32, 0:32] = ai11_32
    out[32:64, 32:64] = ai22_32
    out[32:64, 0:32] = ai21_32
    out[0:32, 32:64] = 0.0
    return out


# ---- tilelang -------------------------------------------------------------
def tl_block(a16, order, mutate=False):
    """The basic algorithm on one F x F block (fp32 UB), cast to fp16."""
    o = a16.astype(np.float32)
    f = o.shape[0]
    for i in range(2, f):
        row = o[i, :].copy()
        mul_ub = o * row[:, None]  # broadcast o_row over columns
        red = reduce_rows(mul_ub, "halving" if (order == "sequential") == mutate
                          else "sequential") if mutate else \
            reduce_rows(mul_ub, order)
        o[i, :] = o[i, :] - red
    o = np.eye(f, dtype=np.float32) - o
    return o.astype(np.float16)


def gemm16(x16, y16):
    """gemm_v0 with fp16 operands, fp32 L0C (fractal k0 = 16), FIXPIPE to
    fp16 in GM."""
    return as_f32(dot(x16, y16, "fractal", k0=16)).astype(np.float16)


def tilelang(a16, order, mutate=False):
    c = a16.shape[0]
    F = 32
    if c == 32:
        return tl_block(a16, order, mutate)
    O = np.zeros((c, c), np.float16)
    if c == 64:
        O[0:F, 0:F] = tl_block(a16[0:F, 0:F], order, mutate)
        O[F:, F:] = tl_block(a16[F:, F:], order, mutate)
        O[0:F, F:] = 0
        mult = gemm16(O[F:, F:], a16[F:, 0:F])
        O[F:, 0:F] = gemm16(mult, O[0:F, 0:F])
        O[F:, 0:F] = (np.float16(0) - O[F:, 0:F]).astype(np.float16)
        return O
    blk = lambda i, j, s=F: (slice(i * F, i * F + s), slice(j * F, j * F + s))  # noqa
    neg = lambda x: (np.float16(0) - x).astype(np.float16)  # noqa
    O[blk(1, 0)] = neg(a16[blk(1, 0)])
    O[blk(3, 2)] = neg(a16[blk(3, 2)])
    O[2 * F:, 0:2 * F] = neg(a16[2 * F:, 0:2 * F])
    for d_ in range(4):
        O[blk(d_, d_)] = tl_block(a16[blk(d_, d_)], order, mutate)
    a21_l = O[2 * F:, 0:2 * F].copy()
    a21_s = O[blk(1, 0)].copy()
    for ii in range(2):
        o11 = O[blk(2 * ii, 2 * ii)].copy()
        O[blk(2 * ii + 1, 2 * ii)] = gemm16(a21_s, o11)
        o22 = O[blk(2 * ii + 1, 2 * ii + 1)].copy()
        mult = O[blk(2 * ii + 1, 2 * ii)].copy()
        O[blk(2 * ii + 1, 2 * ii)] = gemm16(o22, mult)
        if ii == 0:
            a21_s = O[blk(3, 2)].copy()
    o11_l = O[0:2 * F, 0:2 * F].copy()
    O[2 * F:, 0:2 * F] = gemm16(a21_l, o11_l)
    o22_l = O[2 * F:, 2 * F:].copy()
    mult = O[2 * F:, 0:2 * F].copy()
    O[2 * F:, 0:2 * F] = gemm16(o22_l, mult)
    return O


# ---- inputs, comparison ---------------------------------------------------
def make_inputs(c, rng, dtype):
    def lower(x):
        return np.tril(x, -1)
    ins = {}
    ins["uniform0.1"] = lower(rng.uniform(0, 0.1, (2, c, c)))
    ins["uniform-signed"] = lower(rng.uniform(-0.3, 0.3, (1, c, c)))
    ins["ones"] = lower(np.ones((1, c, c)))
    ins["block-ones"] = block_ones(c)
    big = 60000.0 if dtype == np.float16 else 1e30
    ins["near-range"] = lower(rng.uniform(-big, big, (1, c, c)))
    sz = lower(rng.uniform(-0.3, 0.3, (1, c, c)))
    sz[rng.random(sz.shape) < 0.5] = 0.0
    low = np.tril_indices(c, -1)
    vals = sz[0][low]
    sz[0][low] = np.where(vals == 0, np.where(rng.random(vals.shape) < 0.5,
                                              -0.0, 0.0), vals)
    ins["signed-zeros"] = sz
    ins["gdn"] = gdn_a(rng, c, 2)
    return {k: v.astype(dtype) for k, v in ins.items()}


def oracle(tmp, kernel, recipe, a, tag):
    return run_oracle(TRISIM, tmp, tag, a, ["--method", "fla", "--kernel",
                                            kernel, "--precision", recipe])


SUMMARY = []


def compare(tmp, kernel, spec, recipe, c, name, a, emulate):
    got = oracle(tmp, spec, recipe, a, f"{spec}_{recipe}_{c}_{name}")
    if got is None:
        return None
    mism = sum(mismatches(got[s], emulate(a[s])) for s in range(a.shape[0]))
    SUMMARY.append((spec, recipe, c, name, a.size, mism))
    check(mism == 0, f"{spec} {recipe} C={c} {name}: {mism} of {a.size} "
          "entries differ from the emulation")
    return got


rng = np.random.default_rng(20261130)
with tempfile.TemporaryDirectory() as tmp:
    # fla-gpu, C = 64: tf32 (gpu-fp32, gpu-fp16 output) and ieee (fp32)
    # merges; both reduction orders and both dot_add forms on some inputs.
    c = 64
    ins = make_inputs(c, rng, np.float32)
    # ieee merges: gpu-fp32 with fp32 operands (tl.dot input_precision
    # "ieee"); the accumulation stays IEEE fp32 (order = sequential).
    ieee = os.path.join(tmp, "gpu-ieee.toml")
    with open(ieee, "w") as f:
        f.write('base = "gpu-fp32"\noperand = "fp32"\n')
    # tf32x3 merges (FLA_TRIL_PRECISION=tf32x3): split operands.
    x3 = os.path.join(tmp, "gpu-tf32x3.toml")
    with open(x3, "w") as f:
        f.write('base = "gpu-fp32"\noperand_split = "tf32x3"\n')
    for name, a in ins.items():
        compare(tmp, "fla-gpu", "fla-gpu", "gpu-fp32", c, name, a,
                lambda x: fla_gpu(x, "halving", "tf32"))
        compare(tmp, "fla-gpu", "fla-gpu", ieee, c, name, a,
                lambda x: fla_gpu(x, "halving", "fp32"))
        if name in ("uniform0.1", "gdn", "signed-zeros"):
            compare(tmp, "fla-gpu", "fla-gpu:reduce=sequential", "gpu-fp32",
                    c, name, a, lambda x: fla_gpu(x, "sequential", "tf32"))
            compare(tmp, "fla-gpu", "fla-gpu:dot_add=separate", "gpu-fp32", c,
                    name, a, lambda x: fla_gpu(x, "halving", "tf32",
                                               "separate"))
        if name in ("uniform0.1", "gdn", "near-range", "signed-zeros"):
            compare(tmp, "fla-gpu", "fla-gpu", x3, c, name, a,
                    lambda x: fla_gpu(x, "halving", "tf32x3"))
        if name in ("uniform0.1", "gdn"):
            compare(tmp, "fla-gpu", "fla-gpu", "gpu-fp16", c, name, a,
                    lambda x: fla_gpu(x, "halving", "tf32").astype(
                        np.float16))
    a = ins["gdn"]
    got = oracle(tmp, "fla-gpu", "gpu-fp32", a, "mut_gpu")
    if got is not None:
        m = sum(mismatches(got[s], fla_gpu(a[s], "halving", "tf32",
                                           mutate=True))
                for s in range(a.shape[0]))
        print(f"mutation fla-gpu (row sums without fp32 roundings): {m} "
              "mismatches")
        check(m > 0, "fla-gpu mutation not caught")

    # triton-ascend, C = 16, 32, 64 (fp16 input, fp32 out).
    for c in (16, 32, 64):
        ins = make_inputs(c, rng, np.float16)
        for name, a in ins.items():
            compare(tmp, "triton-ascend", "triton-ascend",
                    "triton-ascend-fp16", c, name, a,
                    lambda x: triton_ascend(x, "sequential"))
            if name in ("uniform0.1", "gdn") and c == 64:
                compare(tmp, "triton-ascend", "triton-ascend:reduce=halving",
                        "triton-ascend-fp16", c, name, a,
                        lambda x: triton_ascend(x, "halving"))
        a = ins["gdn"]
        if c == 64:
            got = oracle(tmp, "triton-ascend", "triton-ascend-fp16", a,
                         "mut_tri")
            if got is not None:
                m = sum(mismatches(got[s], triton_ascend(a[s], "sequential",
                                                         mutate=True))
                        for s in range(a.shape[0]))
                print(f"mutation triton-ascend (reduction order reversed): "
                      f"{m} mismatches")
                check(m > 0, "triton-ascend mutation not caught")

    # tilelang, C = 32, 64, 128 (fp16 in/out).
    for c in (32, 64, 128):
        ins = make_inputs(c, rng, np.float16)
        for name, a in ins.items():
            if c == 128 and name not in ("uniform0.1", "gdn", "near-range",
                                         "signed-zeros"):
                continue
            if c == 128:
                a = a[:1]
            compare(tmp, "tilelang", "tilelang", "tilelang-fp16", c, name, a,
                    lambda x: tilelang(x, "sequential"))
            if name == "gdn" and c == 64:
                compare(tmp, "tilelang", "tilelang:reduce=halving",
                        "tilelang-fp16", c, name, a,
                        lambda x: tilelang(x, "halving"))
        if c == 64:
            a = ins["gdn"]
            got = oracle(tmp, "tilelang", "tilelang-fp16", a, "mut_tl")
            if got is not None:
                m = sum(mismatches(got[s], tilelang(a[s], "sequential",
                                                    mutate=True))
                        for s in range(a.shape[0]))
                print(f"mutation tilelang (reduction order): {m} mismatches")
                check(m > 0, "tilelang mutation not caught")

    # Pairs the kernels cannot express are refused with a message (exit 2).
    for c in (32, 64):
        np.save(os.path.join(tmp, f"refuse{c}.npy"),
                np.tril(np.full((1, c, c), 0.1), -1).astype(np.float32))
    for kernel, recipe, want, c in (
            ("fla-gpu", "gpu-fp32", "does not support --chunk 32", 32),
            ("triton-ascend", "pto-fp16", "operand = fp16", 32),
            ("tilelang", "fp32", "operand = fp32", 32),
            ("fla-gpu:reduce=tree", "gpu-fp32", "setting reduce=tree", 64)):
        pin = os.path.join(tmp, f"refuse{c}.npy")
        r = subprocess.run([TRISIM, "oracle", "--method", "fla", "--kernel",
                            kernel, "--precision", recipe, "--in",
                            "npy:" + pin, "--out",
                            os.path.join(tmp, "refused.npy")],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 2 and want in r.stderr,
              f"{kernel} {recipe}: exit {r.returncode}, {r.stderr.strip()}")

    # Issue 13: the GDN layer takes T from the selected kernel (gpu-bf16).
    import json
    out = {}
    for kernel in ("plan", "fla-gpu"):
        r = subprocess.run([TRISIM, "error", "--method", "fla", "--kernel",
                            kernel, "--precision", "gpu-bf16", "--chunk", "64",
                            "--input", "gdn:rho=0.5", "--samples", "8",
                            "--json"], capture_output=True, text=True,
                           timeout=300)
        check(r.returncode == 0, f"layer {kernel}: {r.stderr.strip()}")
        if r.returncode == 0:
            out[kernel] = json.loads(r.stdout)
    if len(out) == 2:
        j = out["fla-gpu"]
        check(j["layer"] and j["kernel"]["name"] == "fla-gpu",
              f"layer run: layer={j['layer']} kernel={j['kernel']}")
        check(j["T"]["frob_rel"]["p50"] != out["plan"]["T"]["frob_rel"]["p50"],
              "the layer's T does not follow --kernel fla-gpu")

for row in SUMMARY:
    print("agreement: kernel=%s recipe=%s C=%d input=%s entries=%d "
          "mismatches=%d" % row)
finish()
