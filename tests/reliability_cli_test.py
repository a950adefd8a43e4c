"""Issue 9 sections 2-6: bad input never crashes, hangs, allocates what a
header claims or destroys data, and every subcommand exits by one table
(0 success, 1 bad data, 2 usage, 3 a requested check did not pass).
One tiny input per fault kind.

Run by ctest as: python3 reliability_cli_test.py TRISIM_BINARY
"""
import json
import os
import resource
import struct
import subprocess
import sys
import tempfile

import numpy as np

from checks import check, finish  # noqa: E402 (tests/checks.py)

TRISIM = sys.argv[1]
# Address-space cap for every run: a reader that allocates what a header
# claims (GBs) fails with bad_alloc (exit 4) instead of passing.
LIMIT = 1 << 31
# An ASan build (.ci/run's build-asan) reserves terabytes of shadow address
# space at start, so it cannot run under RLIMIT_AS: there the same 2 GB cap
# is ASan's own limit on one allocation (a bad_alloc too, exit 4).
with open(TRISIM, "rb") as f:
    ASAN = b"__asan_init" in f.read()
ENV = dict(os.environ)
if ASAN:
    ENV["ASAN_OPTIONS"] = ":".join(filter(None, [
        ENV.get("ASAN_OPTIONS", ""), f"max_allocation_size_mb={LIMIT >> 20}",
        "allocator_may_return_null=1"]))


def limit():
    if not ASAN:
        resource.setrlimit(resource.RLIMIT_AS, (LIMIT, LIMIT))


def run(*args, cwd=None, timeout=120):
    return subprocess.run([TRISIM, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, preexec_fn=limit, env=ENV)


def expect(args, code, needle, cwd=None, timeout=120):
    """Exit `code`, one stderr line containing `needle`."""
    r = run(*args, cwd=cwd, timeout=timeout)
    lines = r.stderr.strip().splitlines()
    check(r.returncode == code,
          f"{args}: exit {r.returncode}, expected {code}: {r.stderr!r}")
    check(any(needle in line for line in lines),
          f"{args}: stderr {r.stderr!r} lacks {needle!r}")
    check(len(lines) == 1, f"{args}: {len(lines)} stderr lines: {r.stderr!r}")
    return r


def listing(d):
    return sorted(os.listdir(d))


tmp_holder = tempfile.TemporaryDirectory()
tmp = tmp_holder.name


def path(*parts):
    return os.path.join(tmp, *parts)


a16 = np.tril(np.random.default_rng(0).uniform(0, 0.1, (2, 16, 16)), -1)
np.save(path("a16.npy"), a16)
ORACLE = ["oracle", "--method", "mxr", "--precision", "fp16", "--in",
          "npy:" + path("a16.npy")]

# ---- Section 2: data loss and half-written outputs -------------------------

# A directory with a foreign manifest.json, notes and a subdirectory: refused,
# nothing deleted (it used to be removed recursively).
os.makedirs(path("p", "src"))
open(path("p", "manifest.json"), "w").write("{}")
open(path("p", "NOTES.txt"), "w").write("keep")
expect(ORACLE + ["--out", path("X.npy"), "--dump-stages", path("p")], 2,
       "not a trisim stage dump")
check(listing(path("p")) == ["NOTES.txt", "manifest.json", "src"],
      f"p untouched: {listing(path('p'))}")
check(not os.path.exists(path("X.npy")), "no --out after a refused dump")
# --force does not make a foreign directory trisim's.
expect(ORACLE + ["--out", path("X.npy"), "--dump-stages", path("p"),
                 "--force"], 2, "not a trisim stage dump")
check(listing(path("p")) == ["NOTES.txt", "manifest.json", "src"],
      "p untouched with --force")

# --dump-stages . in a directory holding files: refused, nothing emptied.
os.makedirs(path("cwd"))
open(path("cwd", "precious.txt"), "w").write("x")
expect(ORACLE + ["--out", path("X.npy"), "--dump-stages", "."], 2,
       "--dump-stages .", cwd=path("cwd"))
check(listing(path("cwd")) == ["precious.txt"], "current directory untouched")

# Trailing slash works; the dump lists its files; no temporaries remain.
r = run(*ORACLE, "--out", path("X.npy"), "--dump-stages",
        path("stages") + "/")
check(r.returncode == 0, f"stages/: {r.stderr}")
check(os.path.exists(path("stages", "manifest.json")), "stages/manifest.json")
manifest = json.load(open(path("stages", "manifest.json")))
check(sorted(manifest.get("files", [])) == listing(path("stages")),
      "manifest lists exactly the dump's files")
check([f for f in listing(tmp) if "trisim" in f or "partial" in f] == [],
      f"no temporaries left: {listing(tmp)}")

# A previous dump is replaced only with --force, and then only its own files:
# a user's file in it stays.
open(path("stages", "mine.txt"), "w").write("user")
expect(ORACLE + ["--out", path("X.npy"), "--dump-stages", path("stages")], 2,
       "--force")
int8 = path("int8.toml")
open(int8, "w").write('base = "int8"\n')
r = run(*ORACLE[:4], int8, *ORACLE[5:], "--out", path("X8.npy"),
        "--dump-stages", path("stages"), "--force")
check(r.returncode == 0, f"--force over a trisim dump: {r.stderr}")
check(os.path.exists(path("stages", "mine.txt")), "user file kept by --force")
codes = [f for f in listing(path("stages")) if f.endswith("_codes.npy")]
check(codes, "int8 dump wrote operand codes")
r = run(*ORACLE, "--out", path("X.npy"), "--dump-stages", path("stages"),
        "--force")
check(r.returncode == 0, f"--force back to fp16: {r.stderr}")
check(not any(f.endswith("_codes.npy") for f in listing(path("stages"))),
      "files of the previous dump that the new one lacks are removed")
check(os.path.exists(path("stages", "mine.txt")), "user file still kept")
check(sorted(json.load(open(path("stages", "manifest.json")))["files"]
             + ["mine.txt"]) == listing(path("stages")),
      "after --force: the new dump's files plus the user's")

# Every output path is checked before computing; all or nothing.
expect(ORACLE + ["--out", "/nonexistent/X.npy", "--dump-stages",
                 path("st")], 2, "/nonexistent")
check(not os.path.exists(path("st")), "no stage dump when --out is bad")
expect(ORACLE + ["--out", path("Y.npy"), "--dump-stages",
                 "/nonexistent/st"], 2, "/nonexistent/st")
check(not os.path.exists(path("Y.npy")), "no --out when --dump-stages is bad")
np.save(path("q_in.npy"), np.ones((4, 4), np.float32))
expect(["quantize", "--format", "int8", "--scale", "tensor", "--scales-out",
        "/nonexistent/S.npy", path("q_in.npy"), path("q_out.npy")], 2,
       "/nonexistent/S.npy")
check(not os.path.exists(path("q_out.npy")), "quantize wrote nothing")
# A file where the dump directory should go: refused, file unchanged.
open(path("afile"), "w").write("data")
expect(ORACLE + ["--out", path("U.npy"), "--dump-stages", path("afile")], 2,
       "not a directory")
check(open(path("afile")).read() == "data", "file kept")
# Empty paths are named errors.
expect(ORACLE + ["--out", ""], 2, "--out ''")
expect(ORACLE + ["--out", path("U.npy"), "--dump-stages", ""], 2,
       "--dump-stages ''")
expect(["cost", "--trace", ""], 2, "--trace ''")
# A directory as --out.
expect(ORACLE + ["--out", tmp], 2, "is a directory")
# trisim never writes over PATH.tmp (it used to be its temporary name).
open(path("Z.npy.tmp"), "w").write("mine")
r = run(*ORACLE, "--out", path("Z.npy"))
check(r.returncode == 0 and open(path("Z.npy.tmp")).read() == "mine",
      "Z.npy.tmp untouched")

# Never overwrite a file trisim did not write in this run: every file output
# of every command (core/output_files.h Outputs) refuses an existing path
# with one line naming it (exit 2) and leaves it as it was; --force replaces.
def refuses_then_forces(args, out, flag):
    """`args` write `out` (given by `flag`); a user's file there is kept."""
    open(out, "w").write("user data")
    expect(args, 2, f"{flag} {out}: exists; refusing to overwrite it")
    check(open(out).read() == "user data", f"{flag} {out} untouched")
    r = run(*args, "--force")
    check(r.returncode == 0, f"{args} --force: exit {r.returncode}: {r.stderr}")
    check(open(out, "rb").read() != b"user data", f"{flag} {out} replaced")
    os.remove(out)


os.makedirs(path("ow"))
# oracle --out, and its provenance sidecar X.npy.json on its own.
refuses_then_forces(ORACLE + ["--out", path("ow", "o.npy")],
                    path("ow", "o.npy"), "--out")
check(os.path.exists(path("ow", "o.npy.json")), "oracle wrote its sidecar")
expect(ORACLE + ["--out", path("ow", "o.npy")], 2,
       "--out (provenance sidecar) " + path("ow", "o.npy.json") + ": exists")
check(not os.path.exists(path("ow", "o.npy")), "nothing written")
os.remove(path("ow", "o.npy.json"))
# A file created by an earlier run of trisim is protected the same way.
r = run(*ORACLE, "--out", path("ow", "o2.npy"))
check(r.returncode == 0, f"oracle: {r.stderr}")
before = open(path("ow", "o2.npy"), "rb").read()
expect(ORACLE + ["--out", path("ow", "o2.npy")], 2, "exists")
check(open(path("ow", "o2.npy"), "rb").read() == before, "o2.npy untouched")
# A dangling symlink is a path that exists too.
os.symlink(path("ow", "nowhere"), path("ow", "link.npy"))
expect(ORACLE + ["--out", path("ow", "link.npy")], 2, "exists")
check(not os.path.exists(path("ow", "nowhere")), "no file behind the link")
# quantize OUT and --scales-out (each refused on its own), dequantize OUT.
QUANT = ["quantize", "--format", "int8", "--scale", "tensor", "--scales-out",
         path("ow", "s.npy"), path("q_in.npy"), path("ow", "q.npy")]
refuses_then_forces(QUANT, path("ow", "q.npy"), "OUT")
open(path("ow", "s.npy"), "w").write("user data")
expect(QUANT, 2, "--scales-out " + path("ow", "s.npy") + ": exists")
check(not os.path.exists(path("ow", "q.npy")),
      "no OUT when --scales-out is refused (all or none)")
refuses_then_forces(QUANT, path("ow", "s.npy"), "--scales-out")
os.remove(path("ow", "q.npy"))
r = run(*QUANT)
check(r.returncode == 0, f"quantize: {r.stderr}")
refuses_then_forces(["dequantize", "--scale", "tensor", "--scales",
                     path("ow", "s.npy"), path("ow", "q.npy"),
                     path("ow", "d.npy")], path("ow", "d.npy"), "OUT")
# cost --trace, for a plan and for a kernel program.
refuses_then_forces(["cost", "--trace", path("ow", "t.json")],
                    path("ow", "t.json"), "--trace")
refuses_then_forces(["cost", "--kernel", "pto-mxr", "--chunk", "64",
                     "--trace", path("ow", "k.json")],
                    path("ow", "k.json"), "--trace")
# compare --junit (the oracle output against itself: a passing compare).
r = run(*ORACLE, "--out", path("ow", "x.npy"))
check(r.returncode == 0, f"oracle: {r.stderr}")
refuses_then_forces(["compare", "--device", path("ow", "x.npy"), "--in",
                     ORACLE[-1], "--method", "mxr", "--precision", "fp16",
                     "--junit", path("ow", "j.xml")],
                    path("ow", "j.xml"), "--junit")
check([f for f in listing(path("ow")) if "trisim" in f] == [],
      f"no temporaries left: {listing(path('ow'))}")

# ---- Section 3: crashes ----------------------------------------------------

np.save(path("zero.npy"), np.zeros((0, 64, 64)))
expect(["error", "--input", "npy:" + path("zero.npy")], 1, "no matrices")
expect(["oracle", "--in", "npy:" + path("zero.npy"), "--out",
        path("X0.npy")], 1, "no matrices")
check(not os.path.exists(path("X0.npy")), "no output for zero matrices")

# --threads: one bound (0 or 1..4 x cores) in every subcommand, readable.
for sub in (["error", "--samples", "1", "--chunk", "16"],
            ["quantize", "--format", "int8", path("q_in.npy"),
             path("q2.npy")]):
    for value in ("100000", "2147483647", "-1", "99999999999999999999",
                  "x"):
        r = expect(sub + ["--threads", value], 2, "--threads")
        check(len(r.stderr) < 200 and "(all cores)" in r.stderr,
              f"{sub[0]} --threads {value}: readable range: {r.stderr!r}")

# A plan x recipe check (integer storage vs forward-substitution rows) used
# to throw inside the OpenMP region: terminate, exit 134.
bad_storage = path("int8_storage.toml")
open(bad_storage, "w").write('base = "int8"\nstorage = "int8"\n')
for threads in ("1", "2"):
    expect(["error", "--method", "fla", "--precision", bad_storage,
            "--samples", "2", "--chunk", "32", "--threads", threads], 2,
           "forward-substitution")
expect(["recommend", "--methods", "fla", "--chunks", "32", "--precisions",
        bad_storage, "--samples", "1"], 2, "forward-substitution")
expect(["oracle", "--method", "fla", "--precision", bad_storage, "--in",
        "npy:" + path("a16.npy"), "--out", path("U.npy")], 2,
       "forward-substitution")

# operand_scale blocks that do not fit: errors everywhere, not an internal
# assertion (134) or SIGFPE.
for block in ("3", "24", "13", "4294967296"):
    recipe = path(f"block{block}.toml")
    open(recipe, "w").write(f'base = "int8"\noperand_scale = "block:{block}"\n')
    expect(["error", "--precision", recipe, "--samples", "1"], 2,
           "operand_scale")
    expect(["cost", "--precision", recipe], 2, "operand_scale")
    expect(["recipes", "--show", recipe], 2, "operand_scale")
    expect(["oracle", "--precision", recipe, "--in",
            "npy:" + path("a16.npy"), "--out", path("U.npy")], 2,
           "operand_scale")
    expect(["recommend", "--precisions", recipe, "--samples", "1",
            "--chunks", "64", "--methods", "mxr"], 2, "operand_scale")
# A power-of-two block larger than the operands is the whole operand: fine.
big = path("block1024.toml")
open(big, "w").write('base = "int8"\noperand_scale = "block:1024"\n')
r = run("error", "--precision", big, "--samples", "1", "--chunk", "16")
check(r.returncode == 0, f"block:1024 at C = 16 runs: {r.stderr}")

# ---- Section 4: sizes a header claims but the file does not hold ----------

# 12 bytes: a v2 header claiming a 2 GB header length.
with open(path("hdr.npy"), "wb") as f:
    f.write(b"\x93NUMPY\x02\x00" + struct.pack("<I", 0x7FFFFFFF))
# A valid header claiming a (2^28, 1) float64 shape (2 GB), then 8 bytes.
header = "{'descr':'<f8','fortran_order':False,'shape':(268435456,1)}\n"
with open(path("shape.npy"), "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
    f.write(header.encode() + b"\0" * 8)
check(os.path.getsize(path("shape.npy")) < 100, "shape.npy is tiny")
for name, needle in (("hdr.npy", "truncated .npy header"),
                     ("shape.npy", "truncated data")):
    p = path(name)
    expect(["error", "--input", "npy:" + p], 1, p)
    expect(["error", "--input", "npy:" + p], 1, needle)
    expect(["oracle", "--in", "npy:" + p, "--out", path("U.npy")], 1, needle)
    expect(["quantize", "--format", "int8", p, path("q3.npy")], 1, needle)
    expect(["dequantize", p, path("q3.npy")], 1, needle)
    check(not os.path.exists(path("q3.npy")), f"{name}: nothing written")

# ---- Section 5: values silently misread ------------------------------------

for seed in ("-1", "18446744073709551616", "99999999999999999999999", "1e3",
             "0x10", ""):
    expect(["error", "--seed", seed, "--samples", "1"], 2, "--seed")
    expect(ORACLE + ["--out", path("U.npy"), "--seed", seed], 2, "--seed")
    expect(["recommend", "--seed", seed], 2, "--seed")
    expect(["quantize", "--format", "int8", "--seed", seed,
            path("q_in.npy"), path("q4.npy")], 2, "--seed")
r = run("error", "--seed", "18446744073709551615", "--samples", "1",
        "--chunk", "16", "--json")
check(r.returncode == 0 and json.loads(r.stdout)["seed"] == 2**64 - 1,
      f"--seed 2^64-1 is allowed: {r.stderr}")

for args, needle in [
    (["--chunks", "16abc"], "'16abc'"),
    (["--chunks", ""], "--chunks"),
    (["--chunks", "16,,32"], "empty item"),
    (["--chunks", "16,"], "empty item"),
    (["--methods", ""], "--methods"),
    (["--precisions", ""], "--precisions"),
    (["--methods", "neumann:order=3/"], "empty item"),
    (["--batch", "0"], "--batch 0"),          # same ranges as trisim cost
    (["--seq", "-5"], "--seq -5"),
]:
    expect(["recommend", "--samples", "1"] + args, 2, needle)
# Method options are checked before any evaluation: with 10^8 samples per
# configuration, evaluating the first one before the check would not end.
expect(["recommend", "--samples", "100000000", "--methods",
        "vcs,neumann:order=3/mask=band:x", "--chunks", "32"], 2, "band:x",
       timeout=60)
expect(["recommend", "--samples", "100000000", "--methods", "vcs,mbh",
        "--chunks", "32,48"], 2, "48", timeout=60)

# ---- Section 6: exit codes and messages ------------------------------------

expect(["bogus"], 2, "unknown subcommand 'bogus'")
expect([], 2, "subcommand")
expect(["error", "--bogus"], 2, "--bogus")           # CLI11 extras (was 109)
expect(["error", "--chunk", "abc"], 2, "chunk")       # conversion (was 105)
expect(["oracle", "--out", path("U.npy")], 2, "--in")  # required (was 106)
expect(["error", "--samples"], 2, "--samples")        # missing value
expect(["recipes", "extra"], 2, "extra")
open(path("bad_magic.npy"), "wb").write(b"not an npy file at all")
expect(["error", "--input", "npy:" + path("bad_magic.npy")], 1, "bad magic")
expect(["oracle", "--in", "npy:" + path("missing.npy"), "--out",
        path("U.npy")], 2, "missing.npy")            # a path: usage
upper = np.triu(np.ones((16, 16)))
np.save(path("upper.npy"), upper)
expect(["error", "--input", "npy:" + path("upper.npy")], 1,
       "not strictly lower")
# Nothing meets the budget: the table is printed, then exit 3.
r = run("recommend", "--budget", "1e-300", "--metric", "T", "--input",
        "uniform", "--methods", "vcs", "--chunks", "16", "--precisions",
        "fp16", "--samples", "1")
check(r.returncode == 3, f"recommend over budget: exit {r.returncode}")
check("no configuration meets the budget" in r.stdout,
      "recommend prints its table before exit 3")
check(r.stderr.startswith("trisim: check failed:"), f"stderr {r.stderr!r}")
r = run("recommend", "--budget", "1e-300", "--metric", "T", "--input",
        "uniform", "--methods", "vcs", "--chunks", "16", "--precisions",
        "fp16", "--samples", "1", "--json")
check(r.returncode == 3 and json.loads(r.stdout)["recommendation"] is None,
      "recommend --json over budget: exit 3 with the JSON")
for args in (["--help"], ["error", "--help"], ["--version"]):
    check(run(*args).returncode == 0, f"{args}: exit 0")

finish()
