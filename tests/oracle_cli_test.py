"""`trisim oracle` end to end: outputs, dumps, and bad input.

Run by ctest as: /usr/bin/python3 oracle_cli_test.py TRISIM_BINARY
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from checks import check, finish  # noqa: E402 (tests/checks.py)

TRISIM = sys.argv[1]



def run(*args):
    return subprocess.run([TRISIM, "oracle", *args], capture_output=True,
                          text=True, timeout=120)


rng = np.random.default_rng(1)
with tempfile.TemporaryDirectory() as tmp:
    def path(name):
        return os.path.join(tmp, name)

    a = np.tril(rng.uniform(0, 0.4, (3, 16, 16)), -1)
    np.save(path("a16.npy"), a.astype(np.float16))
    np.save(path("a32.npy"), a.astype(np.float32))

    # fp16 recipe: fp16 out, close to the exact inverse, same bits twice.
    r = run("--method", "mxr", "--precision", "fp16", "--in", "npy:" + path("a16.npy"),
            "--out", path("x.npy"))
    check(r.returncode == 0, f"fp16 run: {r.stderr}")
    x = np.load(path("x.npy"))
    check(x.dtype == np.float16 and x.shape == (3, 16, 16), f"x {x.dtype} {x.shape}")
    exact = np.linalg.inv(np.eye(16) + a.astype(np.float16).astype(np.float64))
    err = np.abs(x.astype(np.float64) - exact).max()
    check(0 < err < 1e-2, f"fp16 oracle error {err}")
    run("--method", "mxr", "--precision", "fp16", "--in", "npy:" + path("a16.npy"),
        "--out", path("x2.npy"))
    check(np.array_equal(np.load(path("x2.npy")).view(np.uint16), x.view(np.uint16)),
          "deterministic bits")

    # fp64 recipe: float64 out, the exact inverse to rounding.
    r = run("--method", "vcs", "--precision", "fp64", "--in", "npy:" + path("a32.npy"),
            "--out", path("x64.npy"))
    x64 = np.load(path("x64.npy"))
    exact32 = np.linalg.inv(np.eye(16) + a.astype(np.float32).astype(np.float64))
    check(x64.dtype == np.float64 and np.abs(x64 - exact32).max() < 1e-14,
          f"fp64 oracle {x64.dtype}")

    # bf16 recipe reads '<u2' bf16 bits and writes them.
    bits = (a.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    np.save(path("abf.npy"), bits)
    r = run("--method", "mbh", "--precision", "bf16", "--in", "npy:" + path("abf.npy"),
            "--out", path("xbf.npy"))
    check(r.returncode == 0, f"bf16 run: {r.stderr}")
    xbf = np.load(path("xbf.npy"))
    check(xbf.dtype == np.uint16, f"bf16 out dtype {xbf.dtype}")
    xbf_f = (xbf.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    check(np.abs(xbf_f - exact32).max() < 5e-2, "bf16 values plausible")

    # A wider input is rounded on load, with a note.
    r = run("--method", "mxr", "--precision", "fp16", "--in", "npy:" + path("a32.npy"),
            "--out", path("x3.npy"))
    check(r.returncode == 0 and "rounded to fp16" in r.stderr, f"note: {r.stderr!r}")

    # Stage dump: manifest lists every step, files exist, output matches.
    r = run("--method", "neumann", "--order", "2", "--steps", "1", "--precision",
            "int8", "--in", "npy:" + path("a16.npy"), "--out", path("xn.npy"),
            "--dump-stages", path("dump"), "--dump-sample", "2")
    check(r.returncode == 0, f"dump run: {r.stderr}")
    m = json.load(open(path("dump/manifest.json")))
    check(m["recipe"]["name"] == "int8" and m["chunk"] == 16, "manifest header")
    for step in m["steps"]:
        for view in step["inputs"] + [step["output"]]:
            check(os.path.exists(path("dump/" + view["file"])),
                  f"step {step['index']} file {view['file']}")
    last = np.load(path("dump/" + m["output"]["file"]))
    xn = np.load(path("xn.npy"))[2].astype(np.float64)
    check(np.array_equal(last, xn), "dumped X equals the output of the dumped matrix")
    # Re-dumping over a previous dump is allowed with --force (issue 9: an
    # existing non-empty directory is refused without it).
    r = run("--method", "vcs", "--precision", "fp16", "--in", "npy:" + path("a16.npy"),
            "--out", path("xv.npy"), "--dump-stages", path("dump"))
    check(r.returncode == 2 and "--force" in r.stderr, f"re-dump without --force: {r.stderr}")
    r = run("--method", "vcs", "--precision", "fp16", "--in", "npy:" + path("a16.npy"),
            "--out", path("xv.npy"), "--dump-stages", path("dump"), "--force")
    check(r.returncode == 0, f"re-dump: {r.stderr}")

    # Bad input: one line, non-zero exit, nothing written.
    np.save(path("upper.npy"), np.triu(np.ones((16, 16))))
    np.save(path("ints.npy"), np.zeros((16, 16), np.int8))
    np.save(path("rect.npy"), np.zeros((16, 8)))
    np.save(path("odd.npy"), np.zeros((12, 12)))
    nan = np.tril(np.ones((16, 16)), -1)
    nan[3, 1] = np.nan
    np.save(path("nan.npy"), nan)
    os.makedirs(path("precious"))
    open(path("precious/keep.txt"), "w").write("x")
    bad = [
        (["--in", "npy:" + path("upper.npy")], "not strictly lower"),
        (["--in", "npy:" + path("ints.npy")], "int8"),
        (["--in", "npy:" + path("rect.npy")], "C x C"),
        (["--in", "npy:" + path("odd.npy")], "power of two"),
        (["--in", "npy:" + path("nan.npy")], "non-finite"),
        (["--in", "npy:" + path("missing.npy")], "missing.npy"),
        (["--in", "gdn"], "captured inputs"),
        (["--in", "npy:" + path("a16.npy"), "--precision", "int9"], "int9"),
        (["--in", "npy:" + path("abf.npy"), "--precision", "fp16"], "bf16"),
        (["--in", "npy:" + path("a16.npy"), "--chunk", "32"], "--chunk 32"),
        (["--in", "npy:" + path("a16.npy"), "--dump-stages", path("precious")],
         "not a trisim stage dump"),
        (["--in", "npy:" + path("a16.npy"), "--dump-stages", path("d2"),
          "--dump-sample", "7"], "--dump-sample 7"),
    ]
    for args, expected in bad:
        out = path("never.npy")
        r = run("--method", "mxr", "--out", out, *args)
        lines = r.stderr.strip().splitlines()
        check(r.returncode != 0 and r.returncode < 128, f"{args}: exit {r.returncode}")
        check(any(expected in line for line in lines), f"{args}: {r.stderr!r}")
        check(len(lines) == 1, f"{args}: {len(lines)} stderr lines")
        check(not os.path.exists(out), f"{args}: wrote the output")
    check(os.listdir(path("precious")) == ["keep.txt"], "precious dir untouched")
    check(not os.path.exists(path("d2")), "no dump for a bad sample")

finish()
