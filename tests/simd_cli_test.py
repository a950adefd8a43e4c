"""`trisim error --json` is the same with the fast path and --scalar, and for
1 and 2 threads (every recipe family, float and integer, stochastic too).

Run by ctest as: /usr/bin/python3 simd_cli_test.py TRISIM_BINARY
"""
import os
import subprocess
import sys
import tempfile

from checks import fail, finish  # noqa: E402 (tests/checks.py)

TRISIM = sys.argv[1]


def run(*args):
    p = subprocess.run([TRISIM, "error", "--json", *args], capture_output=True,
                       text=True, timeout=600)
    if p.returncode != 0:
        fail(f"{args}: exit {p.returncode}: {p.stderr}")
    return p.stdout


CASES = [
    ["--method", "neumann", "--precision", "int8"],
    ["--method", "mxr", "--precision", "fp16"],
    ["--method", "neumann", "--precision", "int16-emu"],
    ["--method", "mxr", "--precision", "int8-block16"],
    ["--method", "fla", "--precision", "bf16"],
    ["--method", "mch", "--precision", "fp32", "--input", "uniform:0.5"],
]

for case in CASES:
    args = case + ["--samples", "6", "--seed", "3"]
    fast2 = run(*args, "--threads", "2")
    fast1 = run(*args, "--threads", "1")
    scalar = run(*args, "--threads", "2", "--scalar")
    if fast1 != fast2:
        fail(f"{case}: --threads 1 and 2 differ")
    if fast2 != scalar:
        fail(f"{case}: fast and --scalar differ")

# Stochastic rounding and other modes through recipe files: same bits on
# both paths.
for base, mode, method in [("fp16", "stochastic", "mxr"),
                           ("int8", "stochastic", "neumann"),
                           ("fp16", "toward-zero", "fla"),
                           ("int16-emu", "nearest-away", "neumann"),
                           ("int8", "toward-pos", "neumann"),
                           ("int8-block16", "to-odd", "mxr")]:
    shown = subprocess.run([TRISIM, "recipes", "--show", base],
                           capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "r.toml")
        lines = [l for l in shown.splitlines()
                 if "=" in l and not l.startswith("rounding")
                 and not l.startswith("name")]
        with open(path, "w") as f:
            f.write(f'name = "{base}-{mode}"\nrounding = "{mode}"\n' +
                    "\n".join(lines) + "\n")
        args = ["--method", method, "--precision", path, "--samples", "4"]
        a = run(*args, "--threads", "2")
        b = run(*args, "--scalar", "--threads", "1")
        if a != b or not a:
            fail(f"{base} {mode}: fast and --scalar differ")

finish()
