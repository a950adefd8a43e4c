"""`trisim compare --kernel`: the oracle a device output is judged against is
the stated kernel's (issue 14 item 1 with issue 11's kernels).

A pto-kernel oracle output compared against the pto oracle is bit-identical
(exit 0, preset exact); against the math-level plan (kernel "plan", whose
roundings differ: issue 11) the same file is not (exit 3), and a kernel the
method lacks is a usage error (exit 2).
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish  # noqa: E402

trisim = sys.argv[1]


def run(*args):
    return subprocess.run([trisim, *args], capture_output=True, text=True)


with tempfile.TemporaryDirectory() as tmp:
    rng = np.random.default_rng(11)
    c = 32
    a = np.tril(rng.uniform(0, 0.5, size=(4, c, c)), -1).astype(np.float16)
    a_path = os.path.join(tmp, "A.npy")
    np.save(a_path, a)
    x_path = os.path.join(tmp, "X.npy")
    r = run("oracle", "--method", "mxr", "--kernel", "pto", "--precision",
            "fp16", "--in", "npy:" + a_path, "--out", x_path)
    check(r.returncode == 0, f"oracle --kernel pto: {r.stderr}")
    same = run("compare", "--device", x_path, "--in", "npy:" + a_path,
               "--method", "mxr", "--kernel", "pto", "--precision", "fp16",
               "--preset", "exact", "--json")
    check(same.returncode == 0,
          f"pto output vs pto oracle passes exact: {same.returncode} {same.stderr}")
    plan = run("compare", "--device", x_path, "--in", "npy:" + a_path,
               "--method", "mxr", "--precision", "fp16", "--preset", "exact")
    check(plan.returncode == 3,
          f"pto output vs math-level plan fails exact: {plan.returncode} {plan.stderr}")
    bad = run("compare", "--device", x_path, "--in", "npy:" + a_path,
              "--method", "vcs", "--kernel", "pto", "--precision", "fp16")
    check(bad.returncode == 2 and "pto" in bad.stderr,
          f"a kernel the method lacks: {bad.returncode} {bad.stderr}")
finish()
