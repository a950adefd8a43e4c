"""scripts/plot: each figure is produced (a non-empty PNG) from real trisim
output where trisim writes it (recommend --csv, compare --json) and from a
stated-format file otherwise (the cost validation CSV, error --json with
O_by_chunk); bad files give a one-line error and no PNG.

Run by ctest as: /usr/bin/python3 plot_test.py TRISIM_BINARY
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from checks import check, finish  # noqa: E402 (tests/checks.py)

TRISIM = sys.argv[1]
PLOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "plot")


def plot(kind, src, out):
    return subprocess.run([sys.executable, PLOT, kind, src, "-o", out],
                          capture_output=True, text=True, timeout=300)


def png_ok(path):
    if not os.path.exists(path) or os.path.getsize(path) < 1000:
        return False
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


with tempfile.TemporaryDirectory() as tmp:
    def path(name):
        return os.path.join(tmp, name)

    # Pareto front of a small recommend run.
    r = subprocess.run([TRISIM, "recommend", "--methods", "mxr,fla,neumann",
                        "--chunks", "32,64", "--precisions", "fp16,bf16",
                        "--samples", "8", "--budget", "1e-3", "--csv"],
                       capture_output=True, text=True, timeout=600)
    check(r.returncode == 0, f"recommend --csv: {r.stderr}")
    open(path("rec.csv"), "w").write(r.stdout)
    r = plot("pareto", path("rec.csv"), path("pareto.png"))
    check(r.returncode == 0 and png_ok(path("pareto.png")), f"pareto: {r.stderr}")

    # Cost validation (columns kernel,C,predicted_cycles,measured_cycles).
    open(path("val.csv"), "w").write(
        "kernel,C,predicted_cycles,measured_cycles\n"
        "mxr,32,2100,2200\nmxr,64,6000,5900\nfla,64,9000,8000\nmxr,128,22000,23100\n")
    r = plot("cost-validation", path("val.csv"), path("val.png"))
    check(r.returncode == 0 and png_ok(path("val.png")), f"cost-validation: {r.stderr}")

    # Error by chunk position (O_by_chunk in error --json).
    j = {"method": "mxr", "precision": "fp16", "chunk": 64,
         "O_by_chunk": [{"chunk": k, "frob_rel": {"p50": 1e-4 * (1 + 0.1 * k),
                                                   "p99": 3e-4 * (1 + 0.1 * k),
                                                   "max": 5e-4 * (1 + 0.1 * k)}}
                        for k in range(16)]}
    json.dump(j, open(path("err.json"), "w"))
    r = plot("chunk-error", path("err.json"), path("chunk.png"))
    check(r.returncode == 0 and png_ok(path("chunk.png")), f"chunk-error: {r.stderr}")

    # ULP histogram of a compare (another accumulation order).
    a = np.tril(np.random.default_rng(1).uniform(-0.3, 0.3, (4, 64, 64)), -1)
    np.save(path("a.npy"), a.astype(np.float16))
    open(path("seq.toml"), "w").write('base = "fp16"\norder = "sequential"\n')
    subprocess.run([TRISIM, "oracle", "--precision", path("seq.toml"), "--in",
                    "npy:" + path("a.npy"), "--out", path("xs.npy")], check=True,
                   capture_output=True)
    r = subprocess.run([TRISIM, "compare", "--device", path("xs.npy"), "--in",
                        "npy:" + path("a.npy"), "--precision", "fp16", "--json"],
                       capture_output=True, text=True)
    open(path("cmp.json"), "w").write(r.stdout)
    r = plot("ulp-hist", path("cmp.json"), path("ulp.png"))
    check(r.returncode == 0 and png_ok(path("ulp.png")), f"ulp-hist: {r.stderr}")

    # The real files: the shipped cost validation table, and a carry-mode
    # `trisim error --json` (O_by_chunk and S_by_chunk as trisim writes
    # them: {"chunk", "p50", "p99"}), whose curves must be drawn.
    shipped = os.path.join(os.path.dirname(PLOT), "..", "sim",
                           "cost_validation.csv")
    r = plot("cost-validation", shipped, path("val_real.png"))
    check(r.returncode == 0 and png_ok(path("val_real.png")),
          f"cost-validation on sim/cost_validation.csv: {r.stderr}")
    r = subprocess.run([TRISIM, "error", "--method", "vcs", "--precision",
                        "gpu-fp16", "--chunk", "16", "--input",
                        "gdn:dk=16,dv=16,seq=64", "--samples", "4", "--json"],
                       capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, f"error carry mode: {r.stderr}")
    open(path("carry.json"), "w").write(r.stdout)
    r = plot("chunk-error", path("carry.json"), path("carry.png"))
    check(r.returncode == 0 and png_ok(path("carry.png")),
          f"chunk-error on error --json: {r.stderr}")
    # Entries with no error value are an error, not an empty figure.
    json.dump({"O_by_chunk": [{"chunk": 0}, {"chunk": 1}]},
              open(path("novalue.json"), "w"))
    r = plot("chunk-error", path("novalue.json"), path("bad.png"))
    check(r.returncode == 1 and not os.path.exists(path("bad.png")),
          f"no error values: {r.stderr}")

    # Bad input: one line, exit 1, no PNG.
    json.dump({"method": "mxr"}, open(path("noby.json"), "w"))
    r = plot("chunk-error", path("noby.json"), path("bad.png"))
    check(r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
          and not os.path.exists(path("bad.png")), f"no O_by_chunk: {r.stderr}")
    open(path("badval.csv"), "w").write("kernel,C\nmxr,64\n")
    r = plot("cost-validation", path("badval.csv"), path("bad.png"))
    check(r.returncode == 1 and "missing columns" in r.stderr, f"columns: {r.stderr}")

finish()
