"""numpy <-> trisim .npy interoperability, both directions, every dtype.

Run by ctest as: /usr/bin/python3 npy_numpy_test.py <trisim> ; the round-trip
driver (tests/tools/npy_roundtrip.cc) comes from $TRISIM_NPY_ROUNDTRIP or
argv[2]. For each case numpy writes IN.npy; trisim reads it and writes SAME.npy
(its own writer, same dtype) and F64.npy (its exact float64 decode); numpy then
checks SAME == original bit for bit and F64 == original.astype(float64).
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

tool = os.environ.get("TRISIM_NPY_ROUNDTRIP") or (sys.argv[2] if len(sys.argv) > 2 else None)
if not tool:
    sys.exit("needs the trisim_npy_roundtrip path ($TRISIM_NPY_ROUNDTRIP or argv[2])")

np.seterr(invalid="ignore")  # decoding signalling-NaN bit patterns
rng = np.random.default_rng(20240611)
tmp = tempfile.mkdtemp(prefix="trisim_npy_")
failures = []


def run(args):
    return subprocess.run([tool] + args, capture_output=True, text=True)


def check(name, arr, writer=None, bf16=False):
    src = os.path.join(tmp, "in.npy")
    same = os.path.join(tmp, "same.npy")
    f64 = os.path.join(tmp, "f64.npy")
    if writer is None:
        np.save(src, arr)
    else:
        with open(src, "wb") as f:
            writer(f, arr)
    r = run([src, same, f64] + (["--bf16"] if bf16 else []))
    if r.returncode != 0:
        failures.append(f"{name}: driver failed: {r.stderr.strip()}")
        return
    got = np.load(same)
    want = arr.astype(arr.dtype.newbyteorder("<"), order="C")
    if got.dtype != want.dtype or got.shape != want.shape or got.tobytes() != want.tobytes():
        failures.append(f"{name}: SAME differs ({got.dtype}{got.shape} vs {want.dtype}{want.shape})")
    dec = np.load(f64)
    if bf16:
        ref = (want.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    else:
        ref = want.astype(np.float64)
    if dec.dtype != np.float64 or dec.shape != ref.shape or not np.array_equal(dec, ref, equal_nan=True):
        failures.append(f"{name}: float64 decode differs")


def sample(dtype, shape):
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if dt.kind == "f":
        # Random bit patterns cover normals, subnormals, inf and NaN.
        bits = rng.integers(0, 2 ** (8 * dt.itemsize), size=n, dtype=np.uint64)
        a = bits.astype(f"u{dt.itemsize}").view(dt.newbyteorder("="))
        a = np.where(np.isnan(a), np.array(np.nan, dt), a)  # NaN payloads are not promised
        edge = np.array([0.0, -0.0, np.inf, -np.inf, 1.0, -2.5], dt)
    else:
        info = np.iinfo(dt)
        a = rng.integers(info.min, info.max, size=n, endpoint=True, dtype=dt.newbyteorder("="))
        edge = np.array([info.min, info.max, 0, 1], dt)
    a = a.copy()
    a[: min(n, edge.size)] = edge[: min(n, edge.size)]
    return a.reshape(shape).astype(dt)


dtypes = ["<f2", "<f4", "<f8", "|i1", "|u1", "<i2", "<u2", "<i4", "<i8"]
shapes = [(), (7,), (3, 4, 5), (0, 3), (2, 1, 6)]
for base in dtypes:
    for order in ["<", ">"]:
        dt = np.dtype(base).newbyteorder(order) if base[0] != "|" else np.dtype(base)
        for shape in shapes:
            a = sample(dt, shape)
            check(f"{dt.str}{shape}C", a)
            check(f"{dt.str}{shape}F", np.asfortranarray(a))
            if len(shape) >= 2:  # numpy writes these with fortran_order: True
                check(f"{dt.str}{shape}T", a.T)

# Header versions 2.0 and 3.0 (numpy writes them on request).
for version in [(1, 0), (2, 0), (3, 0)]:
    a = sample("<f4", (4, 3))
    check(f"version{version}", a,
          writer=lambda f, arr, v=version: np.lib.format.write_array(f, arr, version=v))

# A version 2.0 header longer than 65535 bytes (padding is legal whitespace).
def long_header_writer(f, arr):
    h = ("{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (arr.dtype.str, arr.shape))
    h = h.encode("latin1") + b" " * 70000
    h += b" " * ((64 - (12 + len(h) + 1) % 64) % 64) + b"\n"
    f.write(b"\x93NUMPY\x02\x00" + len(h).to_bytes(4, "little") + h + arr.tobytes())


check("long-header-v2", sample("<i2", (5, 2)), writer=long_header_writer)

# bfloat16 stored as '<u2': every code, decoded as the top half of a float32.
check("bf16-all-codes", np.arange(65536, dtype=np.uint16).reshape(256, 256), bf16=True)

# Bad input: one-line error, exit 2, nothing written.
def bad(name, content, expect):
    src = os.path.join(tmp, "bad.npy")
    out = os.path.join(tmp, "bad_out.npy")
    for p in [out, out + ".tmp"]:
        if os.path.exists(p):
            os.remove(p)
    if content is not None:
        with open(src, "wb") as f:
            f.write(content)
    elif os.path.exists(src):
        os.remove(src)
    r = run([src, out, out + ".f64.npy"])
    msg = r.stderr.strip()
    if r.returncode != 2 or "\n" in msg or expect not in msg or os.path.exists(out):
        failures.append(f"bad input {name}: rc={r.returncode} msg={msg!r}")


def npy_bytes(arr, **kw):
    import io
    b = io.BytesIO()
    np.lib.format.write_array(b, arr, **kw)
    return b.getvalue()


good = npy_bytes(np.arange(12, dtype=np.float32))
bad("missing", None, "cannot open")
bad("magic", b"\x93NUMPZ" + good[6:], "bad magic")
bad("truncated", good[:-3], "truncated data")
bad("complex", npy_bytes(np.zeros(3, np.complex64)), "unsupported dtype")
bad("uint32", npy_bytes(np.zeros(3, np.uint32)), "unsupported dtype")
bad("bool", npy_bytes(np.zeros(3, np.bool_)), "unsupported dtype")
bad("malformed", good.replace(b"'shape'", b"'shapo'"), "malformed")


def raw(header, data=b""):
    h = header.encode("latin1")
    h += b" " * ((64 - (10 + len(h) + 1) % 64) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(h).to_bytes(2, "little") + h + data


bad("overflow", raw("{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }"),
    "overflows")
bad("version", b"\x93NUMPY\x04\x00" + good[8:], "unsupported .npy version")
bad("no-shape", raw("{'descr': '<f8', 'fortran_order': False, }"), "malformed")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("npy interop: all cases passed")
