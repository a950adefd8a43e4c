"""FIXPIPE requantisation whose multiplier fp32(d / s) overflows.

An integer recipe with integer storage (base = "int8", storage = "int8")
requantises each single-k-group matmul from its exact accumulator:
q = Round(I * fp32(d / s)) (sim/executor.cc StoreInteger). s comes from the
group's amax of the fp32 results; a group whose results are all zero (or
all non-finite) has amax 0, so s = 2^-126 (quant/scale.cc AmaxScale), and
any dequantisation scale d >= 4 makes d / s overflow fp32: m = inf reaches
ExactScaled -> ExactFromDouble, which aborts ("internal error:
std::isfinite(x) failed at quant/round.cc"). Commit 854142b made a
non-finite d fall back to the fp32 values (IntegerAccumulatorsForRequant)
but left a finite d with a non-finite d / s on the requant path.

mch under int8 storage on uniform:2 inputs (C = 16) reaches such a step
(an all-zero accumulator group with d >= 4): found by review2. So does mch
with int8 storage on the default gdn input at C = 64, and int16-emu /
int16-acc64 with int16 storage on uniform:100 (C = 16).

Checked: exit 0 (never an abort; an all-zero group stores zeros), and the JSON identical with --scalar
and the default (SIMD) path.

Run by ctest as: /usr/bin/python3 requant_overflow_test.py TRISIM_BINARY
"""
import os
import subprocess
import sys
import tempfile

from checks import check, finish  # noqa: E402 (tests/checks.py)

TRISIM = sys.argv[1]
CASES = [
    # (base recipe, storage, input, chunk)
    ("int8", "int8", "uniform:2", "16"),
    ("int8", "int8", "gdn", "64"),  # the default input
    ("int16-emu", "int16", "uniform:100", "16"),
    ("int16-acc64", "int16", "uniform:100", "16"),
]


def run(recipe, source, chunk, extra):
    args = ["error", "--json", "--method", "mch", "--precision", recipe,
            "--input", source, "--chunk", chunk, "--samples", "1",
            "--threads", "1", *extra]
    p = subprocess.run([TRISIM, *args], capture_output=True, text=True,
                       timeout=600)
    return p.returncode, p.stdout, p.stderr


with tempfile.TemporaryDirectory() as tmp:
    for base, storage, source, chunk in CASES:
        recipe = os.path.join(tmp, f"{base}-{storage}.toml")
        with open(recipe, "w") as f:
            f.write(f'base = "{base}"\nstorage = "{storage}"\n')
        outcomes = {name: run(recipe, source, chunk, extra)
                    for name, extra in [("--scalar", ["--scalar"]),
                                        ("default", [])]}
        for name, (code, out, err) in outcomes.items():
            check(code == 0 and "internal error" not in err,
                  f"{base} storage {storage} on {source} ({name}): exit "
                  f"{code}: {err.strip()[:200]}")
        check(outcomes["--scalar"][:2] == outcomes["default"][:2],
              f"{base} storage {storage} on {source}: default differs "
              f"from --scalar")
finish()
