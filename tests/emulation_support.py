"""The harness the kernel emulation tests share (tests/kernel_*_emulation_
test.py): running `trisim oracle` on an input, the bit comparison, and the
input structures every kernel is checked on, and the integer
round-half-even their exact arithmetic rounds with. The emulations themselves stay
in their own files (each written from its kernel's source).
"""
import os
import subprocess

import numpy as np

from checks import check  # noqa: E402 (tests/checks.py)


def run_oracle(trisim, tmp, tag, a, args, timeout=600):
    """Saves `a` as tmp/in_TAG.npy, runs `trisim oracle ARGS --in npy:...
    --out tmp/out_TAG.npy --force` (--force: a case may run again under the
    same tag) and returns the output array, or None after recording a
    failure that names the tag and trisim's message."""
    tag = tag.replace("/", "_").replace(":", "_")
    pin = os.path.join(tmp, f"in_{tag}.npy")
    pout = os.path.join(tmp, f"out_{tag}.npy")
    np.save(pin, a)
    r = subprocess.run([trisim, "oracle", *args, "--in", "npy:" + pin,
                        "--out", pout, "--force"], capture_output=True,
                       text=True, timeout=timeout)
    check(r.returncode == 0, f"{tag}: {r.stderr.strip()}")
    return np.load(pout) if r.returncode == 0 else None


def rne_shift(a, shift):
    """a / 2^shift rounded half to even (a >= 0 and shift >= 1 integers):
    the rounding of an exact integer value to a coarser grid, shared by the
    emulations' fp32 / fp16 roundings."""
    q = a >> shift
    r = a - (q << shift)
    half = 1 << (shift - 1)
    if r > half or (r == half and q & 1):
        q += 1
    return q


def mismatches(got, want):
    """Entries whose bits differ, compared as fp32 (which holds every fp16
    value exactly, signed zeros included); NaN equals NaN (payloads are not
    modelled)."""
    g = np.asarray(got, dtype=np.float32)
    w = np.asarray(want, dtype=np.float32)
    both_nan = np.isnan(g) & np.isnan(w)
    same = (g.view(np.uint32) == w.view(np.uint32)) | both_nan
    return int((~same).sum())


def block_ones(c):
    """[1, c, c]: ones in the strictly lower part of every 16 x 16 diagonal
    block (the fractal a cube kernel works on), zeros elsewhere."""
    bo = np.zeros((1, c, c))
    for s in range(0, c, 16):
        bo[0, s:s + 16, s:s + 16] = 1.0
    return np.tril(bo, -1)


def gdn_a(rng, c, count):
    """[count, c, c] float64 GDN-like A = beta K K^T exp(G_i - G_j), strictly
    lower: unit keys (dk = 128) with a shared direction (cosine ~ 0.5),
    beta = sigmoid(normal), G the cumulative sum of small negative gates."""
    out = []
    for _ in range(count):
        dk = 128
        shared = rng.standard_normal(dk)
        z = rng.standard_normal((c, dk))
        k = np.sqrt(0.5) * shared + np.sqrt(0.5) * z
        k /= np.linalg.norm(k, axis=1, keepdims=True)
        beta = 1 / (1 + np.exp(-rng.standard_normal(c)))
        g = -np.abs(rng.standard_normal(c)) * 0.01
        gc = np.cumsum(g)
        a = beta[:, None] * (k @ k.T) * np.exp(gc[:, None] - gc[None, :])
        out.append(np.tril(a, -1))
    return np.array(out)
