#!/usr/bin/python3
"""The numpy peer of `trisim bench --peers` (issue 15 item 3).

What a kernel author writes in an afternoon instead of trisim: a vectorised
fake-quant simulation over a batch of chunks, NOT bit-accurate. It runs the
same three jobs as trisim's bench, on the same inputs (the strictly lower A of
trisim's gdn source, written by `trisim bench --peers` to an .npy file):

  int8 neumann (N = 3, S = 8, C = 64): per-matrix symmetric int8 fake quant
    of both operands (s = amax / 127, q = rint(x / s) clipped), int64
    matmuls of the codes (and, as a second figure, float32 matmuls of the
    codes, exact here and on BLAS), dequantised by s_a s_b, every stored result
    rounded to fp16 (the int8 recipe's storage); the plan of
    core/methods/neumann.cc:
      X0 = I - L; X0 = I - L X0 (twice); X = X0;
      8 x: T = L X; R = I - X - T; dX = X0 R; X = X + dX.
  int16-emu neumann: the same with int16 codes (qmax 32639) and every stored
    result in fp32 (the int16-emu recipe's storage); int64 matmuls of the
    codes and, second, float64 ones (exact: |sum| < 2^53).
  fp16 mxr (C = 64, b = 16): float32 matmuls of fp16-rounded operands, every
    stored result rounded to fp16; the plan of core/methods/mxr.cc: mch on
    the 16 x 16 diagonal blocks (X = I - L; Y = L; 3 x: Y = Y Y, X = X + X Y),
    then block doubling X21 = -X22 (L21 X11) for s = 16, 32.

Prints one JSON object: chunks/s per job (best of `--reps` timed passes over
the whole batch) and the numpy/BLAS configuration. Usage:
  numpy_peer.py --input A.npy [--reps 3]     (A: [n, C, C] float64)
"""
import argparse
import json
import time

import numpy as np


def q_int(x, qmax):
    """Per-matrix symmetric fake quant to [-qmax, qmax]: int64 codes and fp32
    scales."""
    amax = np.abs(x).max(axis=(-2, -1), keepdims=True).astype(np.float32)
    s = np.where(amax > 0, amax / np.float32(qmax), np.float32(1))
    q = np.clip(np.rint(x / s), -qmax, qmax).astype(np.int64)
    return q, s


# The codes' matmul: int64 (the issue's peer; numpy has no BLAS for
# integers) or float32, which is exact here too (|sum| <= 64 * 127^2 < 2^24)
# and runs on BLAS: the strongest peer an author would write.
CODE_DTYPE = [np.int64]


def mm_int(a, b, qmax, store):
    qa, sa = q_int(a, qmax)
    qb, sb = q_int(b, qmax)
    acc = np.matmul(qa.astype(CODE_DTYPE[0]), qb.astype(CODE_DTYPE[0]))
    return (acc.astype(np.float32) * (sa * sb)).astype(store)


def neumann_int(l16, qmax, store, order=3, steps=8):
    """The Neumann plan with integer operands of [-qmax, qmax] and every
    stored result in `store` (fp16 for int8, fp32 for int16-emu)."""
    c = l16.shape[-1]
    eye = np.eye(c, dtype=store)
    l32 = l16.astype(np.float32)
    x0 = (eye - l16).astype(store)
    for _ in range(2, order + 1):
        t = mm_int(l32, x0.astype(np.float32), qmax, store)
        x0 = (eye - t).astype(store)
    x = x0
    x0_32 = x0.astype(np.float32)
    for _ in range(steps):
        t = mm_int(l32, x.astype(np.float32), qmax, store)
        r = (eye.astype(np.float32) - x.astype(np.float32) -
             t.astype(np.float32)).astype(store)
        dx = mm_int(x0_32, r.astype(np.float32), qmax, store)
        x = (x.astype(np.float32) + dx.astype(np.float32)).astype(store)
    return x


def neumann_int8(l16):
    return neumann_int(l16, 127, np.float16)


def neumann_int16(l16):
    """int16-emu: int16 codes (qmax 32639, trisim's emulated range), fp32
    storage."""
    return neumann_int(l16, 32639, np.float32)


def mm_fp16(a, b):
    return np.matmul(a.astype(np.float32), b.astype(np.float32)).astype(
        np.float16)


def mxr_fp16(l16, block=16):
    n, c, _ = l16.shape
    nb = c // block
    # Diagonal blocks as a batch: [n * nb, block, block].
    idx = np.arange(nb) * block
    lb = np.stack([l16[:, i:i + block, i:i + block] for i in idx], axis=1)
    lb = lb.reshape(n * nb, block, block)
    eye = np.eye(block, dtype=np.float32)
    xb = (eye - lb.astype(np.float32)).astype(np.float16)
    y = lb
    r = 1
    while (1 << r) < block:
        y = mm_fp16(y, y)
        t = mm_fp16(xb, y)
        xb = (xb.astype(np.float32) + t.astype(np.float32)).astype(np.float16)
        r += 1
    x = np.zeros_like(l16)
    xb = xb.reshape(n, nb, block, block)
    for k, i in enumerate(idx):
        x[:, i:i + block, i:i + block] = xb[:, k]
    s = block
    while s < c:
        for r0 in range(0, c, 2 * s):
            t = mm_fp16(l16[:, r0 + s:r0 + 2 * s, r0:r0 + s],
                        x[:, r0:r0 + s, r0:r0 + s])
            x[:, r0 + s:r0 + 2 * s, r0:r0 + s] = -mm_fp16(
                x[:, r0 + s:r0 + 2 * s, r0 + s:r0 + 2 * s], t)
        s *= 2
    return x


def chunks_per_s(fn, arg, reps):
    fn(arg)  # warm up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - t0)
    return arg.shape[0] / best


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--input", required=True)
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()
    a = np.load(args.input)
    if a.ndim != 3 or a.shape[1] != a.shape[2]:
        raise SystemExit(f"--input {args.input}: shape {a.shape}, want "
                         "[n, C, C]")
    l16 = a.astype(np.float16)  # the recipes' input format (fp16)
    # Some chunks diverge in fake quant (fp16 overflow): expected, silent.
    np.seterr(all="ignore")
    out = {
        "what": "numpy fake quant, not bit-accurate, vectorised over "
                f"{a.shape[0]} chunks (bench/numpy_peer.py)",
        "numpy": np.__version__,
        "chunks": int(a.shape[0]),
        "chunk": int(a.shape[1]),
        "int8_neumann_chunks_per_s": chunks_per_s(neumann_int8, l16,
                                                  args.reps),
        "fp16_mxr_chunks_per_s": chunks_per_s(mxr_fp16, l16, args.reps),
    }
    out["int16_emu_neumann_chunks_per_s"] = chunks_per_s(
        neumann_int16, l16, args.reps)
    CODE_DTYPE[0] = np.float32
    out["int8_neumann_f32codes_chunks_per_s"] = chunks_per_s(
        neumann_int8, l16, args.reps)
    # int16 codes: float32 is not exact (64 * 32639^2 > 2^24); float64 is
    # (< 2^53) and runs on BLAS: the strongest int16 peer.
    CODE_DTYPE[0] = np.float64
    out["int16_emu_neumann_f64codes_chunks_per_s"] = chunks_per_s(
        neumann_int16, l16, args.reps)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
