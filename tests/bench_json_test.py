"""`trisim bench --json`: the figures issue 15 asks bench to state plainly.

One run of `trisim bench --quick --scaling --json`, capped to AVX2 when this
CPU has it (`--target AVX2` caps oneDNN to the same ISA):
- `error_thread_scaling` (--scaling): `trisim error` (int8 neumann, gdn,
  C = 64; 500 samples under --quick) at 1 thread and at every core this
  process may use (its affinity mask), with that core count, positive times, and equal reports (results are the
  same for any thread count). No timing is asserted (the machine is shared).
- the int8 64^3 case: trisim's result equals the scalar reference; when
  oneDNN's s8 x s8 gemm disagrees with it (AVX2 without VNNI: vpmaddubsw sums
  product pairs in saturating int16), bench must say so, match its result
  to the saturation model bit for bit, and not compare its speed; when it
  agrees, the speed ratio is there.

Run by ctest as: /usr/bin/python3 bench_json_test.py TRISIM_BINARY
"""
import json
import os
import subprocess
import sys

from checks import check, finish  # noqa: E402 (tests/checks.py)

TRISIM = sys.argv[1]


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


args = ["bench", "--quick", "--scaling", "--json"]
if "avx2" in cpu_flags():
    args += ["--target", "AVX2"]
env = {k: v for k, v in os.environ.items() if k != "TRISIM_HWY_TARGETS"}
p = subprocess.run([TRISIM, *args], capture_output=True, text=True,
                   timeout=1800, env=env)
check(p.returncode == 0, f"{args}: exit {p.returncode}: {p.stderr[-2000:]}")
try:
    j = json.loads(p.stdout)
except ValueError as e:
    check(False, f"{args}: not JSON: {e}: {p.stdout[-2000:]}")
    j = {}

s = j.get("error_thread_scaling")
check(s is not None, "no error_thread_scaling in the JSON")
if s:
    check(s.get("samples") == 500, f"samples {s.get('samples')}")
    check(s.get("threads") == len(os.sched_getaffinity(0)),
          f"threads {s.get('threads')}")
    check(s.get("one_thread_s", 0) > 0 and s.get("all_threads_s", 0) > 0,
          f"times {s.get('one_thread_s')} {s.get('all_threads_s')}")
    check(abs(s["speedup"] - s["one_thread_s"] / s["all_threads_s"]) < 1e-9,
          "speedup is the ratio of the times")
    check(s.get("reports_equal") is True,
          "the reports differ between 1 thread and every core")
    check("neumann" in s.get("what", "") and s.get("target"),
          f"what/target: {s.get('what')} {s.get('target')}")

i8 = j.get("int8_matmul_64", {})
check(i8.get("results_equal") is True, "int8 fast != scalar reference")
if "onednn_results_equal" in i8:  # oneDNN was built in
    if i8["onednn_results_equal"]:
        check("fast_vs_onednn_ratio" in i8, "oneDNN agrees but no ratio")
        check("onednn_note" not in i8, f"note {i8.get('onednn_note')}")
    else:
        check(i8.get("onednn_wrong_entries", 0) > 0,
              f"wrong entries {i8.get('onednn_wrong_entries')}")
        check("fast_vs_onednn_ratio" not in i8 and
              "onednn_percent_of_peak" not in i8,
              "a wrong oneDNN result has its speed compared")
        check("wrong result" in i8.get("onednn_note", "") or
              "unexplained" in i8.get("onednn_note", ""),
              f"note {i8.get('onednn_note')}")
        # Without VNNI (here: capped to AVX2) the cause is the vpmaddubsw
        # saturation, which the model must reproduce bit for bit.
        if i8.get("target") == "AVX2":
            check(i8.get("onednn_matches_vpmaddubsw_saturation_model") is True,
                  "oneDNN on AVX2 differs from the vpmaddubsw model")
finish()
