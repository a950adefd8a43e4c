"""`trisim error` end to end: JSON schema, tables, and bad input.

Run by ctest as: python3 error_cli_test.py TRISIM_BINARY
"""
import json
import os
import subprocess
import sys
import tempfile

from checks import check, finish  # noqa: E402 (tests/checks.py)

TRISIM = sys.argv[1]


def run(*args):
    return subprocess.run([TRISIM, *args], capture_output=True, text=True,
                          timeout=120)



STATS = {"frob_rel", "max_abs", "max_rel", "nonfinite"}
DIST = {"p50", "p90", "p99", "max"}


def check_stats(obj, name, backward):
    keys = STATS | ({"backward"} if backward else set())
    check(keys <= set(obj), f"{name} keys {sorted(obj)}")
    for k in keys - {"nonfinite"}:
        check(set(obj[k]) == DIST, f"{name}.{k} keys {sorted(obj[k])}")
        check(obj[k]["p50"] <= obj[k]["p90"] <= obj[k]["p99"] <= obj[k]["max"],
              f"{name}.{k} percentiles ordered")
    check(isinstance(obj["nonfinite"], int), f"{name}.nonfinite is an int")


# JSON schema on a GDN input: T, W, U, O present.
r = run("error", "--method", "neumann", "--order", "2", "--steps", "1",
        "--chunk", "32", "--input", "gdn:rho=0.5", "--samples", "7",
        "--seed", "3", "--precision", "fp64", "--json")
check(r.returncode == 0, f"gdn json run exit {r.returncode}: {r.stderr}")
d = json.loads(r.stdout)
for key, value in [("method", "neumann"), ("precision", "fp64"), ("chunk", 32),
                   ("samples", 7), ("seed", 3)]:
    check(d.get(key) == value, f"top-level {key} = {d.get(key)!r}")
check(d["input"].startswith("gdn:rho=0.5"), f"input {d['input']}")
check_stats(d["T"], "T", True)
for m in "WUO":
    check_stats(d[m], m, False)
# A truncated series (N = 2, S = 1: exact band 6 of 32) has a real error.
check(d["T"]["frob_rel"]["max"] > 1e-6, "neumann N=2 S=1 is inexact")

# Same seed, same numbers; matrix-only input has T alone.
r2 = run("error", "--method", "neumann", "--order", "2", "--steps", "1",
         "--chunk", "32", "--input", "gdn:rho=0.5", "--samples", "7",
         "--seed", "3", "--precision", "fp64", "--json")
check(r2.stdout == r.stdout, "identical output for identical arguments")
r = run("error", "--method", "vcs", "--input", "uniform:0.5", "--chunk", "16",
        "--samples", "3", "--precision", "fp64", "--json")
d = json.loads(r.stdout)
check("T" in d and not any(m in d for m in "WUO"), "uniform input: T only")
check(d["T"]["frob_rel"]["max"] < 1e-14, "vcs exact in fp64")

# Readable table by default (fp16: with the per-step range report).
r = run("error", "--samples", "3", "--chunk", "16")
check(r.returncode == 0 and "frob_rel" in r.stdout and "p99" in r.stdout,
      "table output")
check("precision fp16" in r.stdout and "headroom" in r.stdout,
      "default precision fp16 with a range report")

# A recipe file, and the per-step JSON of a rounding recipe.
with tempfile.TemporaryDirectory() as tmp:
    recipe = os.path.join(tmp, "mine.toml")
    with open(recipe, "w") as f:
        f.write('base = "int8"\noperand_scale = "block:16"\n')
    r = run("error", "--method", "neumann", "--precision", recipe,
            "--samples", "2", "--json")
    check(r.returncode == 0, f"recipe file: {r.stderr}")
    if r.returncode == 0:
        d = json.loads(r.stdout)
        check(d["precision"] == recipe, f"precision names the file: {d['precision']}")
        step = d["steps"][2]
        for key in ["index", "op", "label", "max_abs", "headroom_bits",
                    "saturated", "overflowed", "wrapped", "nonfinite"]:
            check(key in step, f"step key {key}")
    # Integer intermediates with stochastic rounding: the fast path and
    # threads give the same bits as the scalar reference on one thread.
    with open(recipe, "w") as f:
        f.write('base = "int8-block16"\nstorage = "int8"\nrounding = "stochastic"\n')
    for method in ["neumann", "dn-split"]:
        fast = run("error", "--method", method, "--precision", recipe,
                   "--samples", "4", "--threads", "2", "--json")
        scalar = run("error", "--method", method, "--precision", recipe,
                     "--samples", "4", "--threads", "1", "--scalar", "--json")
        check(fast.returncode == 0 and fast.stdout == scalar.stdout,
              f"int8 storage {method}: fast/threads == scalar")
    with open(recipe, "w") as f:
        f.write('operand = "int8"\nvector = "int8"\n')
    r = run("error", "--precision", recipe, "--samples", "1")
    check(r.returncode != 0 and "vector" in r.stderr, f"bad recipe: {r.stderr!r}")

# npy: input, chunk from the file.
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "a.npy")
    # A 4x4 strictly lower float64 matrix, written as a raw .npy v1.0 file.
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 4), }"
    header = header + " " * (64 - 10 - len(header) - 1) + "\n"
    import struct
    values = [0.0] * 16
    values[4] = 0.5
    values[9] = -0.25
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
        f.write(header.encode())
        f.write(struct.pack("<16d", *values))
    r = run("error", "--method", "mbh", "--input", "npy:" + path, "--json")
    check(r.returncode == 0, f"npy input: {r.stderr}")
    if r.returncode == 0:
        d = json.loads(r.stdout)
        check(d["chunk"] == 4 and d["samples"] == 1, f"npy chunk/samples {d}")
    values[1] = 1.0  # above the diagonal
    with open(path, "r+b") as f:
        f.seek(10 + len(header))
        f.write(struct.pack("<16d", *values))
    r = run("error", "--method", "mbh", "--input", "npy:" + path)
    check(r.returncode != 0 and "not strictly lower" in r.stderr,
          f"upper entry rejected: {r.stderr!r}")

# Bad input: one-line error naming the problem, non-zero exit, no crash.
BAD = [
    (["--method", "vcs", "--order", "3"], "--order does not apply"),
    (["--method", "qr"], "unknown method 'qr'"),
    (["--chunk", "48"], "--chunk 48"),
    (["--input", "nope"], "unknown input 'nope'"),
    (["--precision", "int3"], "--precision int3"),
    (["--samples", "0"], "--samples 0"),
    (["--method", "neumann", "--mask", "band:x"], "--mask"),
    (["--method", "neumann", "--residual", "jacobi"], "--residual"),
    (["--method", "mbh", "--block", "5"], "--block 5"),
    (["--input", "gdn:rho=7"], "rho"),
    (["--input", "npy:/nonexistent.npy"], "/nonexistent.npy"),
    (["--chunk", "abc"], "chunk"),
]
for args, expected in BAD:
    r = run("error", *args)
    lines = r.stderr.strip().splitlines()
    check(r.returncode != 0, f"{args}: exit code {r.returncode}")
    check(r.returncode < 128, f"{args}: crashed ({r.returncode})")
    check(any(expected in line for line in lines),
          f"{args}: stderr {r.stderr!r} lacks {expected!r}")
    check(len(lines) <= 2, f"{args}: {len(lines)} stderr lines")

r = run("--version")
check(r.returncode == 0 and "trisim" in r.stdout, "--version")
r = run("error", "--help")
for flag in ["--method", "--order", "--mask", "--steps", "--residual",
             "--block", "--iters", "--inner", "--outer", "--chunk", "--input",
             "--samples", "--seed", "--precision", "--json"]:
    check(flag in r.stdout, f"error --help mentions {flag}")

finish()
