"""`trisim bench --scaling`: issue 15's thread-scaling figure in one command.

bench times `trisim error` (int8 neumann, gdn, C = 64; 500 samples under
--quick) at 1 thread and at every core (at most 8), and reports whether the
two reports agree, as they must for any thread count. Checked: the JSON
block is there with the machine's core count, positive times, and equal
reports. No timing is asserted (the machine is shared).

Run by ctest as: /usr/bin/python3 bench_scaling_test.py TRISIM_BINARY
"""
import json
import os
import subprocess
import sys

from checks import check, finish  # noqa: E402 (tests/checks.py)

TRISIM = sys.argv[1]
p = subprocess.run([TRISIM, "bench", "--quick", "--scaling", "--json"],
                   capture_output=True, text=True, timeout=1800)
check(p.returncode == 0, f"exit {p.returncode}: {p.stderr[-2000:]}")
try:
    s = json.loads(p.stdout)["error_thread_scaling"]
except (ValueError, KeyError) as e:
    check(False, f"no error_thread_scaling in the JSON: {e}")
    s = {}
if s:
    cores = min(len(os.sched_getaffinity(0)), 8)
    check(s.get("samples") == 500, f"samples {s.get('samples')}")
    check(s.get("threads") == min(os.cpu_count(), 8) or
          s.get("threads") == cores, f"threads {s.get('threads')}")
    check(s.get("one_thread_s", 0) > 0 and s.get("all_threads_s", 0) > 0,
          f"times {s.get('one_thread_s')} {s.get('all_threads_s')}")
    check(abs(s["speedup"] - s["one_thread_s"] / s["all_threads_s"]) < 1e-9,
          "speedup is the ratio of the times")
    check(s.get("reports_equal") is True,
          "the reports differ between 1 thread and every core")
    check("neumann" in s.get("what", "") and s.get("target"),
          f"what/target: {s.get('what')} {s.get('target')}")
finish()
