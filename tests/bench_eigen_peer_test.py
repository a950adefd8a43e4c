"""`trisim bench`'s per-target Eigen float peer (apps/eigen_peer/): every
module this CPU can run loads on its own (ctypes, RTLD_LOCAL), exports only
its four functions and computes the product of a numpy fp64 reference within
the float error bound; bench names the Eigen build beside its figure, picks
the module of the dispatched Highway target (`--target AVX2` -> the AVX2
module), and labels the baseline build when a module is missing or broken,
without crashing. No timing is asserted.

Run by ctest as: /usr/bin/python3 bench_eigen_peer_test.py TRISIM_BINARY
(TRISIM_CMAKE and TRISIM_BUILD_DIR, set by tests/CMakeLists.txt, add the
`cmake --install` check; TRISIM_SANITIZED=1 skips loading modules into
python3 itself).
"""
import ctypes
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from checks import check, finish  # noqa: E402 (tests/checks.py)

TRISIM = os.path.abspath(sys.argv[1])
BIN_DIR = os.path.dirname(TRISIM)

# Each module's ISA, written here independently of apps/eigen_peer/
# CMakeLists.txt: Highway 1.0.3's per-target sets (hwy/ops/set_macros-inl.h,
# HWY_TARGET_STR_*), as /proc/cpuinfo flag names -> the GCC -m flag.
SSE4 = {"ssse3": "ssse3", "sse4_1": "sse4.1", "sse4_2": "sse4.2",
        "pclmulqdq": "pclmul", "aes": "aes"}
AVX2 = dict(SSE4, avx="avx", avx2="avx2", bmi1="bmi", bmi2="bmi2", fma="fma",
            f16c="f16c")
AVX3 = dict(AVX2, avx512f="avx512f", avx512vl="avx512vl",
            avx512dq="avx512dq", avx512bw="avx512bw")
# Best first, with the first ISA of Eigen::SimdInstructionSetsInUse() that
# the module must name and the one it must not (Eigen 3.4,
# Eigen/src/Core/util/ConfigureVectorization.h).
MODULES = [("AVX3", AVX3, "AVX512", None), ("AVX2", AVX2, "AVX", "AVX512"),
           ("SSE4", SSE4, "SSE4.2", "AVX")]


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def bench(*args, env=None, binary=TRISIM):
    # Neither a target cap nor a module directory from the caller's
    # environment: only what each check sets.
    base = {k: v for k, v in os.environ.items()
            if k not in ("TRISIM_HWY_TARGETS", "TRISIM_EIGEN_PEER_DIR")}
    p = subprocess.run([binary, "bench", "--quick", *args], capture_output=True,
                       text=True, timeout=600, env=dict(base, **(env or {})))
    check(p.returncode == 0, f"bench {args} {env}: exit {p.returncode}: "
          f"{p.stderr[-2000:]}")
    return p


def bench_json(*args, env=None, binary=TRISIM):
    p = bench("--json", *args, env=env, binary=binary)
    try:
        return json.loads(p.stdout)["fp16_matmul_64"]
    except (ValueError, KeyError) as e:
        check(False, f"bench --json {args}: {e}: {p.stdout[-2000:]}")
        return {}


def check_product(name, sgemm, n, rng):
    """sgemm's n x n column-major product against fp64 within gamma_n."""
    a = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    b = rng.uniform(-1, 1, (n, n)).astype(np.float32)
    af, bf = np.asfortranarray(a), np.asfortranarray(b)
    c = np.full((n, n), np.nan, dtype=np.float32, order="F")
    ptr = ctypes.POINTER(ctypes.c_float)
    sgemm(n, af.ctypes.data_as(ptr), bf.ctypes.data_as(ptr),
          c.ctypes.data_as(ptr))
    exact = a.astype(np.float64) @ b.astype(np.float64)
    magnitude = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))
    u = 2.0 ** -24
    gamma = n * u / (1 - n * u)  # Higham, 2nd ed., eq. 3.5
    err = np.abs(c.astype(np.float64) - exact)
    check(bool(np.all(err <= gamma * magnitude)),
          f"{name} n={n}: max error {err.max():.3g} over gamma_n |A||B| "
          f"(worst ratio {(err / np.maximum(gamma * magnitude, 1e-300)).max():.3g})")


def exported_symbols(path):
    if shutil.which("nm") is None:
        return None
    p = subprocess.run(["nm", "-D", "--defined-only", path],
                       capture_output=True, text=True)
    return {line.split()[-1] for line in p.stdout.splitlines() if line.strip()}


if platform.machine() not in ("x86_64", "AMD64"):
    print("not x86-64: no per-target modules; checking the baseline label only")
    j = bench_json()
    check(j.get("eigen_target") == "baseline", f"eigen_target {j}")
    finish()

flags = cpu_flags()
supported = [m for m in MODULES if set(m[1]) <= flags]
rng = np.random.default_rng(15)

# 1. Each module the CPU runs: loads alone, exports only its API, reports
# its flags and Eigen's own ISA label, computes the product.
SANITIZED = os.environ.get("TRISIM_SANITIZED", "0") == "1"
for target, features, eigen_label, eigen_not in supported:
    path = os.path.join(BIN_DIR, f"trisim_eigen_peer_{target.lower()}.so")
    check(os.path.isfile(path), f"{target}: {path} missing")
    if not os.path.isfile(path) or SANITIZED:
        continue
    lib = ctypes.CDLL(path, mode=os.RTLD_LOCAL | os.RTLD_NOW)
    lib.trisim_eigen_peer_abi.restype = ctypes.c_int
    lib.trisim_eigen_peer_simd.restype = ctypes.c_char_p
    lib.trisim_eigen_peer_flags.restype = ctypes.c_char_p
    ptr = ctypes.POINTER(ctypes.c_float)
    lib.trisim_eigen_peer_sgemm.argtypes = [ctypes.c_int, ptr, ptr, ptr]
    lib.trisim_eigen_peer_sgemm.restype = None
    check(lib.trisim_eigen_peer_abi() == 1, f"{target}: ABI")
    simd = lib.trisim_eigen_peer_simd().decode()
    check(eigen_label in simd and (eigen_not is None or eigen_not not in simd),
          f"{target}: Eigen SIMD '{simd}'")
    module_flags = lib.trisim_eigen_peer_flags().decode().split()
    for flag in features.values():
        check(f"-m{flag}" in module_flags,
              f"{target}: -m{flag} not in {module_flags}")
    for n in (1, 7, 16, 64, 100):
        check_product(target, lib.trisim_eigen_peer_sgemm, n, rng)
    symbols = exported_symbols(path)
    if symbols is not None:
        check(symbols == {"trisim_eigen_peer_abi", "trisim_eigen_peer_simd",
                          "trisim_eigen_peer_flags", "trisim_eigen_peer_sgemm"},
              f"{target}: exports {sorted(symbols)[:10]}")

# 2. Bench picks the module of the dispatched target and names it.
j = bench_json()
best = supported[0][0] if supported else "baseline"
hwy_target = j.get("target")
check(j.get("eigen_target") == best,
      f"eigen_target {j.get('eigen_target')} for CPU best {best}, "
      f"Highway target {hwy_target}")
if j.get("eigen_target") != "baseline":
    check(os.path.dirname(j.get("eigen_module", "")) == BIN_DIR,
          f"eigen_module {j.get('eigen_module')} not beside {TRISIM}")
    check("eigen_note" not in j, f"unexpected eigen_note {j.get('eigen_note')}")
for key in ("eigen_float_gops", "eigen_baseline_gops", "fast_vs_eigen_ratio",
            "fast_vs_eigen_baseline_ratio", "eigen_flags",
            "eigen_simd_instruction_sets",
            "eigen_baseline_simd_instruction_sets"):
    check(key in j, f"bench JSON lacks {key}")
check(j.get("eigen_results_within_float_bound") is True and
      j.get("eigen_baseline_results_within_float_bound") is True,
      "bench's Eigen results within the float bound")
check(j.get("results_equal") is True, "fast == scalar in bench")

# 3. --target AVX2 (and the same cap through TRISIM_HWY_TARGETS) runs the
# AVX2 module, on an AVX-512 machine too.
if "avx2" in flags and any(m[0] == "AVX2" for m in supported):
    for args, env in ((["--target", "AVX2"], None),
                      ([], {"TRISIM_HWY_TARGETS": "AVX2"})):
        j = bench_json(*args, env=env)
        check(j.get("target") == "AVX2" and j.get("eigen_target") == "AVX2",
              f"{args} {env}: target {j.get('target')}, eigen_target "
              f"{j.get('eigen_target')}")
        check(j.get("eigen_module", "").endswith("trisim_eigen_peer_avx2.so"),
              f"{args} {env}: module {j.get('eigen_module')}")
# Below SSE4 there is no module: the baseline, said so.
j = bench_json("--target", "SSSE3")
check(j.get("eigen_target") == "baseline" and "SSSE3" in j.get("eigen_note", ""),
      f"--target SSSE3: {j.get('eigen_target')} {j.get('eigen_note')}")


def check_fallback(j, why, label):
    check(j.get("eigen_target") == "baseline", f"{label}: eigen_target "
          f"{j.get('eigen_target')}")
    check(why in j.get("eigen_note", ""), f"{label}: note {j.get('eigen_note')}")
    check("eigen_module" not in j, f"{label}: eigen_module present")
    check(j.get("eigen_float_gops") == j.get("eigen_baseline_gops"),
          f"{label}: the figure is the baseline's")


with tempfile.TemporaryDirectory() as d:
    # 4. No module where TRISIM_EIGEN_PEER_DIR points: labelled baseline, in
    # JSON and text.
    empty = os.path.join(d, "empty")
    os.mkdir(empty)
    if supported:
        env = {"TRISIM_EIGEN_PEER_DIR": empty}
        check_fallback(bench_json(env=env), "not found", "empty module dir")
        text = bench(env=env).stdout
        check("baseline build" in text and "not found" in text,
              f"text output of the fallback: {text}")
        # 5. A broken module (not an ELF file): dlopen's error, no crash.
        broken = os.path.join(d, "broken")
        os.mkdir(broken)
        for target, *_ in supported:
            with open(os.path.join(
                    broken, f"trisim_eigen_peer_{target.lower()}.so"), "w") as f:
                f.write("not a shared object\n")
        check_fallback(bench_json(env={"TRISIM_EIGEN_PEER_DIR": broken}),
                       "cannot load", "broken module")
        # 6. trisim copied alone elsewhere: nothing beside it.
        alone = os.path.join(d, "alone")
        os.mkdir(alone)
        copy = shutil.copy2(TRISIM, alone)
        check_fallback(bench_json(binary=copy), "not found", "trisim alone")

    # 7. The install tree: bin/trisim finds lib/trisim/ from its own path.
    cmake = os.environ.get("TRISIM_CMAKE")
    build = os.environ.get("TRISIM_BUILD_DIR")
    if supported and cmake and build:
        prefix = os.path.join(d, "prefix")
        p = subprocess.run([cmake, "--install", build, "--prefix", prefix],
                           capture_output=True, text=True, timeout=300)
        check(p.returncode == 0, f"cmake --install: {p.stderr[-2000:]}")
        installed = os.path.join(prefix, "bin", "trisim")
        if os.path.isfile(installed):
            j = bench_json(binary=installed)
            check(j.get("eigen_target") == best and os.path.dirname(
                j.get("eigen_module", "")) == os.path.join(prefix, "lib",
                                                           "trisim"),
                  f"installed: {j.get('eigen_target')} {j.get('eigen_module')}"
                  f" {j.get('eigen_note')}")

finish()
