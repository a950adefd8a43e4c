"""The `trisim` Python module (apps/python/): oracle, compare, error, cost,
quantize/dequantize on numpy arrays; ValueError with the CLI's messages;
the oracle's bits equal the CLI's; the GIL is released while they run;
`python3 -m trisim` runs the CLI.

Written as pytest tests (python3 -m pytest tests/python_module_test.py with
PYTHONPATH=build/apps/python) that also run without pytest: ctest runs
/usr/bin/python3 python_module_test.py TRISIM_BINARY with PYTHONPATH set.
Exits 77 (ctest: skipped) when the module was not built.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, finish  # noqa: E402 (tests/checks.py)

try:
    import trisim
    trisim.oracle  # noqa: B018 - fails if the compiled module did not import
except (ImportError, AttributeError) as e:  # pragma: no cover
    if __name__ == "__main__":
        print(f"skipped: trisim module not importable ({e})")
        sys.exit(77)
    raise

TRISIM = os.environ.get("TRISIM_BINARY") or (sys.argv[1] if len(sys.argv) > 1 else "trisim")
rng = np.random.default_rng(3)
A = np.tril(rng.uniform(-0.3, 0.3, (3, 64, 64)), -1).astype(np.float16)


def test_oracle_matches_cli():
    x = trisim.oracle(A, method="mxr", precision="fp16")
    assert x.dtype == np.float16 and x.shape == (3, 64, 64)
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "a.npy"), A)
        subprocess.run([TRISIM, "oracle", "--method", "mxr", "--precision", "fp16",
                        "--in", "npy:" + os.path.join(tmp, "a.npy"),
                        "--out", os.path.join(tmp, "x.npy")], check=True,
                       capture_output=True)
        cli = np.load(os.path.join(tmp, "x.npy"))
    assert np.array_equal(x.view(np.uint16), cli.view(np.uint16))
    # The result owns its memory through a capsule (moved, not copied).
    assert x.base is not None and x.flags["C_CONTIGUOUS"]


def test_oracle_options_and_recipes():
    x = trisim.oracle(A[0], method="neumann", order=3, steps=2, precision="fp32")
    assert x.dtype == np.float32 and x.shape == (64, 64)
    xb = trisim.oracle(A, method="mxr", precision="bf16")
    assert xb.dtype == np.uint16  # bf16 bits


def test_compare_report():
    x = trisim.oracle(A, method="mxr", precision="fp16")
    y = x.copy()
    y.view(np.uint16)[1, 40, 3] += 1
    rep = trisim.compare(y, A=A, method="mxr", precision="fp16")
    assert rep["pass"] is False
    w = rep["oracle"]["worst"]
    assert (w["matrix"], w["row"], w["col"], w["ulp"]) == (1, 40, 3, 1)
    assert rep["reference"]["frob_rel"] > 0
    rep = trisim.compare(x, expected=x, precision="fp16")
    assert rep["pass"] is True and rep["reference"] is None
    rep = trisim.compare(x, A=A, precision="fp16", preset="pto-kernels")
    assert rep["presets"][0]["preset"] == "pto-kernels"


def test_value_errors_carry_cli_messages():
    x = trisim.oracle(A, precision="fp16")
    for call, text in [
        (lambda: trisim.compare(x.astype(np.float32), A=A, precision="fp16"),
         "does not match the oracle's output format fp16"),
        (lambda: trisim.oracle(A, precision="nope"), "nope"),
        (lambda: trisim.oracle(np.ones((4, 4)), precision="fp16"), "strictly lower"),
        (lambda: trisim.compare(x, expected=x, preset="bogus"), "--preset bogus"),
        (lambda: trisim.oracle(A, method="mxr", order=3), "order"),
    ]:
        try:
            call()
        except ValueError as e:
            assert text in str(e), f"{text!r} not in {e}"
        else:
            raise AssertionError(f"no ValueError for {text}")


def test_error_and_cost():
    e = trisim.error(method="mxr", precision="fp16", chunk=32, input="uniform",
                     samples=4)
    assert e["samples"] == 4 and e["T"]["frob_rel"]["max"] > 0
    c = trisim.cost(method="mxr", precision="fp16", chunk=64)
    assert c["total_cycles"] > 0 and c["bottleneck"]


def test_quantize_roundtrip():
    x = rng.normal(size=(32, 32)).astype(np.float32)
    q, s = trisim.quantize(x, format="int8", scale="tensor")
    assert q.dtype == np.int8 and s.dtype == np.float32 and s.shape == (1, 1)
    y = trisim.dequantize(q, s, scale="tensor", to="fp32")
    assert y.dtype == np.float32 and np.abs(y - x).max() <= s[0, 0] / 2 * 1.0001


def _counter_progress_during(target, *args, **kwargs):
    """How many times a pure-Python counter thread increments while the
    builtin `target` runs, counted between the call's c_call and c_return
    profile events. The counter needs the GIL for every increment. The
    switch interval is set far beyond the test's length, so the interpreter
    never takes the GIL from the calling thread by force: the counter
    thread (which hands the GIL back itself after each increment, through
    time.sleep(0)) can only run while the call has released the GIL. A call
    holding it sees exactly 0 increments; not a timing measurement."""
    import threading
    import time
    state = {"count": 0, "stop": False, "at_call": None, "at_return": None}
    started = threading.Event()

    def counter():
        started.set()
        while not state["stop"]:
            state["count"] += 1
            time.sleep(0)

    def profile(frame, event, arg):
        if arg is target and event == "c_call":
            state["at_call"] = state["count"]
        elif arg is target and event in ("c_return", "c_exception"):
            state["at_return"] = state["count"]

    old = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    thread = threading.Thread(target=counter)
    thread.start()
    try:
        started.wait()
        sys.setprofile(profile)
        try:
            target(*args, **kwargs)
        finally:
            sys.setprofile(None)
    finally:
        state["stop"] = True
        thread.join()
        sys.setswitchinterval(old)
    return state["at_return"] - state["at_call"]


def test_module_releases_the_gil():
    # A large batch: the call lasts long enough for the counter thread to
    # be scheduled while the GIL is free.
    batch = np.tril(rng.uniform(-0.3, 0.3, (400, 64, 64)), -1).astype(np.float32)
    during_oracle = _counter_progress_during(trisim.oracle, batch,
                                             method="mxr", precision="fp32")
    assert during_oracle > 0, "oracle held the GIL for the whole call"
    during_error = _counter_progress_during(
        trisim.error, method="mxr", precision="fp16", chunk=64,
        input="uniform", samples=400)
    assert during_error > 0, "error held the GIL for the whole call"
    # The method can fail: a builtin that keeps the GIL (sum over a long
    # range runs in C without releasing it) lets the counter make no step.
    assert _counter_progress_during(sum, range(3_000_000)) == 0


def test_python_m_trisim():
    r = subprocess.run([sys.executable, "-m", "trisim", "recipes"],
                       capture_output=True, text=True,
                       env={**os.environ, "TRISIM_BINARY": TRISIM})
    assert r.returncode == 0 and "fp16" in r.stdout


if __name__ == "__main__":
    for name, fn in sorted(globals().items()):
        if name.startswith("test_") and callable(fn):
            try:
                fn()
                print("ok", name)
            except Exception as e:  # noqa: BLE001 - report every failure
                check(False, f"{name}: {type(e).__name__}: {e}")
    finish()
