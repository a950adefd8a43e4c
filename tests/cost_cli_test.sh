#!/usr/bin/env bash
# trisim cost on the command line: bad input gives a one-line error and a
# non-zero exit; good input gives the JSON keys of issue 5 and a trace file.
# Usage: bash cost_cli_test.sh TRISIM_BINARY
set -uo pipefail
trisim="$1"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# expect_error NEEDLE ARGS...: non-zero exit, one stderr line containing NEEDLE.
expect_error() {
  local needle="$1"; shift
  "$trisim" cost "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  [ "$rc" -ne 0 ] || fail "cost $*: exit 0, expected an error"
  [ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "cost $*: stderr is not one line: $(cat "$tmp/err")"
  grep -qF -- "$needle" "$tmp/err" || fail "cost $*: stderr lacks '$needle': $(cat "$tmp/err")"
}

expect_error "--profile nope" --profile nope
expect_error "--profile /no/such.toml" --profile /no/such.toml
expect_error "--batch 0" --batch 0
expect_error "--heads -3" --heads -3
expect_error "--seq 0" --seq 0
expect_error "--chunk 48" --chunk 48
expect_error "--precision int3" --precision int3
expect_error "unknown method" --method nope
expect_error "--order does not apply" --method mxr --order 3
expect_error "--trace $tmp/no/dir/t.json" --trace "$tmp/no/dir/t.json"

# A user profile with a missing key names the key.
grep -v '^mmad_start_cycles' "$(dirname "$0")/../sim/profiles/ascend-910b.toml" >"$tmp/p.toml"
expect_error "'cube.mmad_start_cycles' is missing" --profile "$tmp/p.toml"

# JSON keys (issue 5 item 4) and a Chrome trace.
if "$trisim" cost --method fla --chunk 64 --json --trace "$tmp/trace.json" >"$tmp/cost.json" 2>"$tmp/err"; then
  /usr/bin/python3 - "$tmp/cost.json" "$tmp/trace.json" <<'PY' || fail "JSON content"
import json, sys
j = json.load(open(sys.argv[1]))
for key in ("total_cycles", "time_us", "bottleneck", "pipes", "steps"):
    assert key in j, key
assert j["total_cycles"] > 0 and j["time_us"] > 0
assert j["bottleneck"] in j["pipes"]
for pipe in j["pipes"].values():
    assert set(pipe) == {"busy_cycles", "utilization"}, pipe
    assert 0 <= pipe["utilization"] <= 1.0 + 1e-9, pipe
assert len(j["steps"]) == 73 and j["steps"][0]["index"] == 0
t = json.load(open(sys.argv[2]))
events = [e for e in t["traceEvents"] if e["ph"] == "X"]
assert events and all(e["dur"] >= 0 and e["ts"] >= 0 for e in events)
assert {e["cat"] for e in events} >= {"M", "FIX", "V", "MTE3"}
PY
else
  fail "cost --json: $(cat "$tmp/err")"
fi

# Batching on (default) and off: mxr's diagonal-block rounds batch, and
# --no-batch prices every step alone, more slowly.
if "$trisim" cost --method mxr --chunk 64 --json >"$tmp/on.json" 2>"$tmp/err" &&
   "$trisim" cost --method mxr --chunk 64 --json --no-batch >"$tmp/off.json" 2>>"$tmp/err"; then
  /usr/bin/python3 - "$tmp/on.json" "$tmp/off.json" <<'PY' || fail "batch JSON"
import json, sys
on, off = (json.load(open(f)) for f in sys.argv[1:3])
assert on["batch_parallel_steps"] and not off["batch_parallel_steps"]
assert len(on["batches"]) == 13 and off["batches"] == [], on["batches"]
assert on["steps"][2]["batch"] == 0 and off["steps"][2]["batch"] is None
assert on["total_cycles"] < off["total_cycles"]
PY
else
  fail "cost --no-batch: $(cat "$tmp/err")"
fi

# The sweep prices every method and every kernel reading at each chunk it
# supports (its speed is a benchmark: `trisim cost --sweep` prints the time
# per configuration; no timing assertion here, issue 9 section 7).
"$trisim" cost --sweep --json >"$tmp/sweep.json" 2>"$tmp/err" || fail "cost --sweep: $(cat "$tmp/err")"
/usr/bin/python3 - "$tmp/sweep.json" <<'PY' || fail "sweep content"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["configurations"] == 32 + sum(len(k) - 1 for k in j["kernels"]), j["configurations"]
assert {k["kernel"] for k in j["kernels"]} >= {"pto-mxr", "fla triton-ascend", "fla tilelang", "mxr pto"}
PY

# Kernels as issued: JSON, the papers' harness one flag away, a trace with
# msprof's track names, bad names and options refused in one line.
if "$trisim" cost --kernel pto-mxr --chunk 64 --authors-harness --seq 4096 --json --trace "$tmp/k.json" >"$tmp/kernel.json" 2>"$tmp/err"; then
  /usr/bin/python3 - "$tmp/kernel.json" "$tmp/k.json" <<'PY' || fail "kernel JSON"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["batch"] == 32 and j["heads"] == 4 and j["zero_fill"] and j["output_bytes"] == 4
assert j["launches"][0]["name"] == "zero-fill" and j["chunk_cycles"] > 0
t = json.load(open(sys.argv[2]))
names = {e["args"]["name"].split(" ")[0] for e in t["traceEvents"] if e["ph"] == "M"}
assert names >= {"CUBE", "MTE1", "MTE2", "FIXP"}, names
PY
else
  fail "cost --kernel: $(cat "$tmp/err")"
fi
expect_error "--kernel nope" --kernel nope
expect_error "does not support --chunk 128" --kernel triton-solve-tril --chunk 128
expect_error "a reading takes no settings" --kernel pto-mxr:order=3
# neumann's pto kernel plan (our design) with its method options; its
# settings are checked as every kernel plan's.
expect_error "unknown setting 'order'" --method neumann --kernel pto:order=3
"$trisim" cost --method neumann --kernel pto --residual product --steps 4 --precision int8 --chunk 64 --json >"$tmp/np.json" 2>"$tmp/err" || fail "cost --method neumann --kernel pto: $(cat "$tmp/err")"
expect_error "--layout bsdn" --kernel pto-mxr --layout bsdn
# A kernel plan of issue 11, lowered as issued (same plan objects).
"$trisim" cost --method mxr --kernel pto --chunk 64 --json >"$tmp/kp.json" 2>"$tmp/err" || fail "cost --method mxr --kernel pto: $(cat "$tmp/err")"

# A shipped profile by name, and --help lists every flag.
"$trisim" cost --profile ascend-910b3 --method vcs >/dev/null 2>&1 || fail "--profile ascend-910b3"
"$trisim" cost --help >"$tmp/help" 2>&1 || fail "cost --help"
for flag in --method --precision --chunk --batch --heads --seq --profile --json --trace --single-buffer --no-batch --sweep --kernel --layout --out-dtype --no-zero-fill --authors-harness; do
  grep -qF -- "$flag" "$tmp/help" || fail "--help lacks $flag"
done

[ "$failures" -eq 0 ] && echo "cost_cli_test: all passed"
exit "$failures"
