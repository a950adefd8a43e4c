"""`trisim recommend`: the recommendation is the fastest configuration
within budget, and bad options are clean errors.

Run by ctest as: python3 recommend_cli_test.py TRISIM_BINARY
"""
import json
import subprocess
import sys

from checks import check, finish  # noqa: E402 (tests/checks.py)

TRISIM = sys.argv[1]



def run(*args):
    return subprocess.run([TRISIM, "recommend", *args], capture_output=True,
                          text=True, timeout=300)


r = run("--samples", "3", "--chunks", "16,32", "--methods",
        "vcs,mxr,neumann:order=2/steps=1", "--precisions", "fp16,fp32",
        "--budget", "1e-3", "--json")
check(r.returncode == 0, f"run: {r.stderr}")
d = json.loads(r.stdout)
configs = d["configurations"]
check(len(configs) == 3 * 2 * 2, f"{len(configs)} configurations")
meeting = [c for c in configs if c["meets_budget"]]
check(all(c["error"] is not None and c["error"] <= 1e-3 for c in meeting),
      "meets_budget agrees with error")
check(any(not c["meets_budget"] for c in configs),
      "the truncated neumann (N=2, S=1) misses a 1e-3 budget")
best = d["recommendation"]
check(best is not None and best["meets_budget"], "a recommendation")
check(best["time_us"] == min(c["time_us"] for c in meeting),
      "recommendation is the fastest within budget")
check(any("order=2" in c["options"] for c in configs), "method options applied")

for args, expected in [
    (["--budget", "-1"], "--budget"),
    (["--metric", "W"], "--metric W"),
    (["--methods", "qr"], "unknown method 'qr'"),
    (["--methods", "neumann:order=x"], "order expects an integer"),
    (["--chunks", "48"], "--chunk 48"),
    (["--precisions", "int9"], "int9"),
    (["--input", "uniform"], "--metric O needs a GDN input"),
]:
    r = run("--samples", "1", *args)
    check(r.returncode != 0 and r.returncode < 128, f"{args}: exit {r.returncode}")
    check(expected in r.stderr and len(r.stderr.strip().splitlines()) == 1,
          f"{args}: {r.stderr!r}")

finish()
