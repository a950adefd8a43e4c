"""trisim quantize/dequantize against numpy, and CLI bad-input behaviour.

Run by ctest as: /usr/bin/python3 quant_numpy_test.py <trisim>.
Bit claims use exact equality of codes; NaN codes are compared by NaN-ness
and sign only (numpy keeps signalling payloads, trisim returns quiet NaNs).
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

trisim = sys.argv[1]
tmp = tempfile.mkdtemp(prefix="trisim_quant_")
rng = np.random.default_rng(7)
failures = []
np.seterr(all="ignore")


def path(name):
    return os.path.join(tmp, name)


def run(*args):
    return subprocess.run([trisim] + [str(a) for a in args], capture_output=True, text=True)


def quantize(x, *flags, out="out.npy"):
    np.save(path("in.npy"), x)
    # --force: out.npy and the scales are this script's scratch files, written
    # by its previous call (trisim refuses an existing output without it).
    r = run("quantize", path("in.npy"), path(out), *flags, "--force")
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return np.load(path(out)), r.stdout


def fail(msg):
    failures.append(msg)


# 1. fp32 -> fp16 RNE vs numpy astype: boundary values and 2^20 random bit patterns.
edges = []
for e in range(-27, 17):  # around every fp16 binade, subnormals, overflow
    for base in [2.0 ** e]:
        for k in range(-3, 4):
            edges.append(np.nextafter(np.float32(base), np.float32(np.inf * np.sign(k)))
                         if k else np.float32(base))
# Midpoints between fp16 neighbours (ties) and one fp32 ulp either side.
hs = np.arange(0, 0x7C00, 7, dtype=np.uint16)  # every 7th finite fp16 code
lo = hs.view(np.float16).astype(np.float64)
hi = (hs + np.uint16(1)).view(np.float16).astype(np.float64)  # 0x7C00 reads as inf: skip it
mid = ((lo + hi) / 2)[np.isfinite(hi)].astype(np.float32)  # exact: ties between fp16 neighbours
edges += list(mid) + list(np.nextafter(mid, np.float32(0))) + list(np.nextafter(mid, np.float32(np.inf)))
edges += [65504, 65519.996, 65520, 65536, 1e38, np.inf, np.nan, 2.0 ** -24, 2.0 ** -25,
          np.float32(2.0 ** -25) * np.float32(1.0000001), 0.0, -0.0]
edges = np.array(edges, np.float32)
bits = rng.integers(0, 2 ** 32, size=1 << 20, dtype=np.uint64).astype(np.uint32)
x = np.concatenate([edges, -edges, bits.view(np.float32)])
got, _ = quantize(x, "--format", "fp16")
want = x.astype(np.float16)
g, w = got.view(np.uint16), want.view(np.uint16)
nan = np.isnan(want)
bad = (g != w) & ~nan
bad |= nan & (~np.isnan(got) | (np.signbit(got) != np.signbit(want)))
if got.dtype != np.float16 or bad.any():
    i = np.flatnonzero(bad)[:3]
    fail(f"fp32->fp16 differs from numpy on {bad.sum()} of {x.size}: x={x[i]} got={g[i]} want={w[i]}")

# 2. fp32 -> bf16 RNE: numpy has no bf16; reference by integer rounding of the bits.
xb = bits.view(np.float32)
u = xb.view(np.uint32).astype(np.uint64)
ref = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
got, _ = quantize(xb, "--format", "bf16")
finite = np.isfinite(xb)
if got.dtype != np.uint16 or (got[finite] != ref[finite]).any():
    fail("fp32->bf16 differs from the integer reference")

# 3. int8 per-row, fp32 scale: the documented semantics written in numpy float32.
a = (rng.standard_normal((64, 48)) * rng.uniform(0.01, 100, (64, 1))).astype(np.float32)
q, out = quantize(a, "--format", "int8", "--scale", "row", "--scales-out", path("s.npy"))
s = np.abs(a).max(axis=1, keepdims=True).astype(np.float32) / np.float32(127)
ref = np.clip(np.rint(a / s), -128, 127).astype(np.int8)  # rint = ties to even
if not np.array_equal(q, ref) or not np.array_equal(np.load(path("s.npy")), s):
    fail("int8 per-row quantisation differs from the numpy float32 model")
if "saturated=0" not in out:
    fail(f"int8 per-row: unexpected counts: {out}")

# block scales: shape [rows/b, cols/b]
q, _ = quantize(a, "--format", "int8", "--scale", "block:16", "--scales-out", path("s.npy"))
sb = np.load(path("s.npy"))
ref_s = np.abs(a).reshape(4, 16, 3, 16).max(axis=(1, 3)).astype(np.float32) / np.float32(127)
if sb.shape != (4, 3) or not np.array_equal(sb, ref_s):
    fail("block:16 scales differ")

# 4. stochastic rounding: identical for 1 and 4 threads, and seed-dependent.
z = rng.standard_normal((33, 70)).astype(np.float32)
one, _ = quantize(z, "--format", "fp8_e4m3", "--rounding", "sr", "--seed", "5", "--threads", "1")
four, _ = quantize(z, "--format", "e4m3", "--rounding", "stochastic", "--seed", "5", "--threads", "4")
other, _ = quantize(z, "--format", "e4m3", "--rounding", "sr", "--seed", "6")
if not np.array_equal(one, four) or np.array_equal(one, other):
    fail("stochastic rounding depends on threads, or not on the seed")

# 5. int32 accumulator -> fp16 dequant with the scale truncated to 10 bits.
acc = rng.integers(-2 ** 20, 2 ** 20, size=(8, 32), dtype=np.int32)
scales = rng.uniform(1e-4, 1e-2, size=(8, 1)).astype(np.float32)
np.save(path("acc.npy"), acc)
np.save(path("sc.npy"), scales)
r = run("dequantize", path("acc.npy"), path("y.npy"), "--to", "fp16", "--scale", "row",
        "--scales", path("sc.npy"), "--scale-mantissa-bits", "10")
st = (scales.view(np.uint32) & np.uint32(0xFFFFE000)).view(np.float32)
ref = (acc.astype(np.float64) * st.astype(np.float64)).astype(np.float16)  # exact product, one rounding
if r.returncode != 0 or not np.array_equal(np.load(path("y.npy")).view(np.uint16), ref.view(np.uint16)):
    fail(f"int32->fp16 dequant differs: {r.stderr}")

# 6. round trip int8 -> dequantize fp32 with the scales written by quantize.
q, _ = quantize(a, "--format", "int8", "--scale", "row", "--scales-out", path("s.npy"))
np.save(path("q.npy"), q)
r = run("dequantize", path("q.npy"), path("y.npy"), "--scale", "row", "--scales", path("s.npy"),
        "--force")  # y.npy: written by section 5
y = np.load(path("y.npy"))
if r.returncode != 0 or not np.array_equal(y, q.astype(np.float32) * np.load(path("s.npy"))):
    fail("int8 -> fp32 dequant differs from q * s")

# 7. fixed kind: int32 accumulator requantised with the fixed-point reciprocal.
q, out = quantize(acc, "--format", "int8", "--scale", "tensor", "--scale-kind", "fixed",
                  "--scales-out", path("f.npy"))
m = np.load(path("f.multiplier.npy"))
sh = np.load(path("f.shift.npy"))
if q.dtype != np.int8 or m.shape != (1, 1) or not (2 ** 30 <= int(m[0, 0]) < 2 ** 31):
    fail("fixed kind outputs malformed")
real = float(m[0, 0]) * 2.0 ** (int(sh[0, 0]) - 31)
if np.abs(q.astype(np.float64) - acc * real).max() > 0.5 + 1e-9:
    fail("fixed kind: more than half an LSB from x * r")

# 8. Bad input: one-line error, non-zero exit, nothing written.
np.save(path("nan.npy"), np.array([1.0, 2.0, np.nan, np.inf], np.float32))
np.save(path("odd.npy"), np.zeros((6, 10), np.float32))
np.save(path("zs.npy"), np.array([[1.0], [0.0]], np.float32))
np.save(path("q2.npy"), np.zeros((2, 4), np.int8))
cases = [
    (["quantize", path("nan.npy"), path("o.npy"), "--format", "int8"], "element 2"),
    (["quantize", path("odd.npy"), path("o.npy"), "--format", "int8", "--scale", "block:4"],
     "does not divide"),
    (["quantize", path("odd.npy"), path("o.npy"), "--format", "int9"], "--format"),
    (["quantize", path("odd.npy"), path("o.npy"), "--format", "int8", "--rounding", "up"], "--rounding"),
    (["quantize", path("odd.npy"), path("o.npy"), "--format", "int8", "--scale", "diag"], "--scale"),
    (["quantize", path("odd.npy"), path("o.npy"), "--format", "fp16", "--overflow", "wrap"],
     "--overflow"),
    (["quantize", path("missing.npy"), path("o.npy"), "--format", "int8"], "cannot open"),
    (["dequantize", path("q2.npy"), path("o.npy"), "--scale", "row", "--scales", path("zs.npy")],
     "scale 1"),
]
for args, expect in cases:
    for p in [path("o.npy"), path("o.npy.tmp")]:
        if os.path.exists(p):
            os.remove(p)
    r = run(*args)
    msg = r.stderr.strip()
    if r.returncode == 0 or "\n" in msg or expect not in msg or os.path.exists(path("o.npy")):
        fail(f"bad input {args[1:]}: rc={r.returncode} stderr={msg!r}")

# --help is complete.
h = run("quantize", "--help").stdout
for flag in ["--format", "--rounding", "--scale", "--scale-kind", "--scales-out", "--seed"]:
    if flag not in h:
        fail(f"quantize --help lacks {flag}")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("quant numpy/CLI checks passed")
