"""`trisim compare` end to end: a one-ulp perturbation found at its index,
exit codes, presets, layouts ([B, T, H, C] with a partial last chunk,
[T, H, C] with cu_seqlens, upper triangular, raw .bin, bf16 bits as int16),
stages, JSON/CSV/JUnit, and bad input (one-line errors, nothing written).
The metrics are recomputed here in numpy, independently of sim/compare.cc.

Run by ctest as: /usr/bin/python3 compare_cli_test.py TRISIM_BINARY
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import numpy as np

from checks import check, finish  # noqa: E402 (tests/checks.py)

TRISIM = sys.argv[1]


def run(cmd, *args):
    return subprocess.run([TRISIM, cmd, *args], capture_output=True, text=True,
                          timeout=300)


def ulp_positions_fp16(x):
    """Ordered integer position of fp16 values: sign-magnitude bits."""
    b = x.astype(np.float16).view(np.uint16).astype(np.int64)
    mag = b & 0x7FFF
    return np.where(b & 0x8000, -mag, mag)


rng = np.random.default_rng(7)
with tempfile.TemporaryDirectory() as tmp:
    def path(name):
        return os.path.join(tmp, name)

    # A: 4 matrices of 64 x 64, GDN-like scale (strictly lower, fp16).
    a = np.tril(rng.uniform(-0.3, 0.3, (4, 64, 64)), -1).astype(np.float16)
    np.save(path("a.npy"), a)
    r = run("oracle", "--method", "mxr", "--precision", "fp16",
            "--in", "npy:" + path("a.npy"), "--out", path("x.npy"))
    check(r.returncode == 0, f"oracle: {r.stderr}")
    x = np.load(path("x.npy"))

    # 1. The oracle against itself: exit 0, 100% identical.
    r = run("compare", "--device", path("x.npy"), "--in", "npy:" + path("a.npy"),
            "--precision", "fp16", "--json")
    check(r.returncode == 0, f"self compare exit {r.returncode}: {r.stderr}")
    j = json.loads(r.stdout)
    check(j["oracle"]["identical_rate"] == 1.0 and j["oracle"]["max_ulp"] == 0,
          "self compare identical")
    check(j["reference"]["error_ratio"] == 1.0, "self error ratio 1")
    ref = np.linalg.inv(np.eye(64) + a.astype(np.float64))
    d = x.astype(np.float64) - ref
    frob = np.sqrt((d ** 2).sum() / (ref ** 2).sum())
    check(abs(j["reference"]["frob_rel"] / frob - 1) < 1e-9,
          f'frob_rel {j["reference"]["frob_rel"]} vs numpy {frob}')
    fla = np.sqrt((d ** 2).mean()) / (np.sqrt((ref ** 2).mean()) + 1e-15)
    check(abs(j["reference"]["fla_ratio"] / fla - 1) < 1e-9, "fla ratio = numpy")
    cos = (x.astype(np.float64) * ref).sum() / np.sqrt(
        (x.astype(np.float64) ** 2).sum() * (ref ** 2).sum())
    check(abs(j["reference"]["cosine"] - cos) < 1e-12, "cosine = numpy")

    # 2. One element one ulp away: found at its exact index, exit 3 (exact).
    y = x.copy()
    n, i, jj = 2, 37, 11
    bits = y.view(np.uint16)
    bits[n, i, jj] += 1
    np.save(path("y.npy"), y)
    r = run("compare", "--device", path("y.npy"), "--expected", path("x.npy"),
            "--precision", "fp16", "--json")
    check(r.returncode == 3, f"one-ulp exit {r.returncode}: {r.stderr}")
    j = json.loads(r.stdout)
    w = j["oracle"]["worst"]
    check((w["matrix"], w["row"], w["col"], w["ulp"]) == (n, i, jj, 1),
          f"worst element {w}")
    check(j["oracle"]["identical"] == x.size - 1, "one differs")
    wb = j["oracle"]["worst_block"]
    check((wb["matrix"], wb["block_row"], wb["block_col"], wb["differing"])
          == (n, i // 16, jj // 16, 1), f"worst block {wb}")
    check(j["reference"] is None, "no reference without --in")
    r = run("compare", "--device", path("y.npy"), "--expected", path("x.npy"),
            "--precision", "fp16")
    check(f"matrix {n} (n={n}) [{i}, {jj}]" in r.stdout, "table names the element")

    # 3. A device-like output from another accumulation order: histogram
    #    against numpy's own ULP count.
    with open(path("seq.toml"), "w") as f:
        f.write('base = "fp16"\norder = "sequential"\n')
    with open(path("frac.toml"), "w") as f:
        f.write('base = "fp16"\norder = "fractal"\n')
    run("oracle", "--method", "mxr", "--precision", path("seq.toml"),
        "--in", "npy:" + path("a.npy"), "--out", path("xs.npy"))
    run("oracle", "--method", "mxr", "--precision", path("frac.toml"),
        "--in", "npy:" + path("a.npy"), "--out", path("xf.npy"))
    xs, xf = np.load(path("xs.npy")), np.load(path("xf.npy"))
    r = run("compare", "--device", path("xs.npy"), "--in", "npy:" + path("a.npy"),
            "--precision", path("frac.toml"), "--json", "--preset", "fla-output")
    j = json.loads(r.stdout)
    ulps = np.abs(ulp_positions_fp16(xs) - ulp_positions_fp16(xf))
    same = (xs.view(np.uint16) == xf.view(np.uint16)).sum()
    check(j["oracle"]["identical"] == same, f'identical {j["oracle"]["identical"]} vs {same}')
    check(j["oracle"]["max_ulp"] == ulps.max(), f'max ulp {j["oracle"]["max_ulp"]} vs {ulps.max()}')
    hist = {h["ulp"]: h["count"] for h in j["oracle"]["ulp_histogram"]}
    check(hist.get("0", 0) == (ulps == 0).sum() and hist.get("1", 0) == (ulps == 1).sum(),
          f"histogram {hist}")
    check(r.returncode == 0, f"fla-output preset passes: {r.returncode}")

    # 4. NaN in the device output is counted, not an error.
    z = x.copy()
    z[0, 5, 1] = np.nan
    np.save(path("z.npy"), z)
    r = run("compare", "--device", path("z.npy"), "--in", "npy:" + path("a.npy"),
            "--precision", "fp16", "--json", "--preset", "pto-kernels")
    check(r.returncode == 3, f"NaN exit {r.returncode}: {r.stderr}")
    j = json.loads(r.stdout)
    check(j["oracle"]["nan"] == 1 and j["oracle"]["worst"]["ulp"] is None, "NaN counted")

    # 5. Presets: pto-kernels and msprobe on the oracle itself pass.
    for preset in ("pto-kernels", "msprobe", "fla"):
        r = run("compare", "--device", path("x.npy"), "--in", "npy:" + path("a.npy"),
                "--precision", "fp16", "--preset", preset, "--json")
        j = json.loads(r.stdout)
        check(r.returncode == (0 if j["pass"] else 3), f"{preset} exit matches pass")
        check(all(c["source"] for p in j["presets"] for c in p["checks"]),
              f"{preset} cites its source")
    # pto-kernels' own input class (0.1 * U[0, 1) strictly lower, fp16 in)
    # with fp32 accumulation and output: within its thresholds.
    apto = np.tril(0.1 * rng.random((4, 64, 64)), -1).astype(np.float16)
    np.save(path("apto.npy"), apto)
    run("oracle", "--method", "mxr", "--precision", "fp16-acc32",
        "--in", "npy:" + path("apto.npy"), "--out", path("xpto.npy"))
    r = run("compare", "--device", path("xpto.npy"), "--in", "npy:" + path("apto.npy"),
            "--precision", "fp16-acc32", "--preset", "pto-kernels")
    check(r.returncode == 0, f"pto-kernels preset on its input class: {r.stdout}")
    # fp16 output cannot meet a 1e-4 Frobenius bound (half an fp16 ulp is
    # 2^-12 relative): the preset fails, exit 3.
    r = run("compare", "--device", path("x.npy"), "--in", "npy:" + path("a.npy"),
            "--precision", "fp16", "--preset", "pto-kernels")
    check(r.returncode == 3, f"pto-kernels preset on fp16 output: {r.returncode}")

    # 6. [B, T, H, C] with a partial last chunk, and [T, H, C] + cu_seqlens.
    B, T, H, C = 1, 150, 2, 64
    abthc = np.zeros((B, T, H, C), np.float16)
    chunks = []
    for h in range(H):
        for t0 in range(0, T, C):
            v = min(C, T - t0)
            blk = np.tril(rng.uniform(-0.3, 0.3, (v, v)), -1).astype(np.float16)
            abthc[0, t0:t0 + v, h, :v] = blk
            pad = np.zeros((C, C), np.float16)
            pad[:v, :v] = blk
            chunks.append((h, t0, v, pad))
    np.save(path("abthc.npy"), abthc)
    np.save(path("achunks.npy"), np.stack([c[3] for c in chunks]))
    run("oracle", "--method", "mxr", "--precision", "fp16",
        "--in", "npy:" + path("achunks.npy"), "--out", path("xchunks.npy"))
    xc = np.load(path("xchunks.npy"))
    xbthc = np.zeros((B, T, H, C), np.float16)
    for k, (h, t0, v, _) in enumerate(chunks):
        xbthc[0, t0:t0 + v, h, :v] = xc[k, :v, :v]
    xbthc[0, T - 1, 1, C - 1] = 9.0  # outside the partial chunk's block
    np.save(path("xbthc.npy"), xbthc)
    r = run("compare", "--device", path("xbthc.npy"), "--in", "npy:" + path("abthc.npy"),
            "--layout", "bthc", "--precision", "fp16", "--json")
    check(r.returncode == 0, f"bthc exit {r.returncode}: {r.stderr}")
    j = json.loads(r.stdout)
    valid = sum(c[2] ** 2 for c in chunks)
    check(j["oracle"]["elements"] == valid, f'bthc elements {j["oracle"]["elements"]} vs {valid}')
    xbthc[0, 140, 1, 70 - 64] = np.float16(xbthc[0, 140, 1, 6]) * np.float16(2)
    np.save(path("xbthc2.npy"), xbthc)
    r = run("compare", "--device", path("xbthc2.npy"), "--in", "npy:" + path("abthc.npy"),
            "--layout", "bthc", "--precision", "fp16", "--json")
    j = json.loads(r.stdout)
    w = j["oracle"]["worst"]
    check(r.returncode == 3 and w["where"] == "b=0 h=1 t=128" and
          (w["row"], w["col"]) == (12, 6), f"bthc worst {w}")
    # [T, H, C] with cu_seqlens: two sequences of 100 and 50 tokens.
    cu = [0, 100, 150]
    athc = np.zeros((T, H, C), np.float16)
    tchunks = []
    for s in range(2):
        for h in range(H):
            for t0 in range(cu[s], cu[s + 1], C):
                v = min(C, cu[s + 1] - t0)
                blk = np.tril(rng.uniform(-0.3, 0.3, (v, v)), -1).astype(np.float16)
                athc[t0:t0 + v, h, :v] = blk
                pad = np.zeros((C, C), np.float16)
                pad[:v, :v] = blk
                tchunks.append((h, t0, v, pad))
    np.save(path("athc.npy"), athc)
    np.save(path("atchunks.npy"), np.stack([c[3] for c in tchunks]))
    run("oracle", "--method", "mxr", "--precision", "fp16",
        "--in", "npy:" + path("atchunks.npy"), "--out", path("xtchunks.npy"))
    xt = np.load(path("xtchunks.npy"))
    xthc = np.zeros((T, H, C), np.float16)
    for k, (h, t0, v, _) in enumerate(tchunks):
        xthc[t0:t0 + v, h, :v] = xt[k, :v, :v]
    # Raw .bin, bf16-style int16 is for bf16 only; here fp16 .bin.
    xthc.tofile(path("xthc.bin"))
    r = run("compare", "--device", path("xthc.bin"), "--dtype", "float16",
            "--shape", f"{T},{H},{C}", "--in", "npy:" + path("athc.npy"),
            "--layout", "thc", "--cu-seqlens", "0,100,150", "--precision", "fp16",
            "--csv")
    check(r.returncode == 0, f"thc exit {r.returncode}: {r.stderr}")
    lines = r.stdout.strip().splitlines()
    check(lines[0].startswith("matrix,where,elements") and len(lines) == 1 + len(tchunks),
          f"csv rows {len(lines)}")
    check("seq=1 h=0 t=100" in r.stdout, "csv labels the chunks")

    # 7. Upper triangular storage (pto-kernels' triu inputs).
    np.save(path("aup.npy"), np.ascontiguousarray(a.transpose(0, 2, 1)))
    np.save(path("xup.npy"), np.ascontiguousarray(x.transpose(0, 2, 1)))
    r = run("compare", "--device", path("xup.npy"), "--in", "npy:" + path("aup.npy"),
            "--upper", "--precision", "fp16", "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["oracle"]["identical_rate"] == 1,
          f"upper: {r.returncode} {r.stderr}")

    # 8. bf16 as int16 bit patterns.
    r = run("oracle", "--method", "mxr", "--precision", "bf16",
            "--in", "npy:" + path("a.npy"), "--out", path("xbf.npy"))
    xbf = np.load(path("xbf.npy"))
    np.save(path("xbf_i16.npy"), xbf.view(np.int16))
    r = run("compare", "--device", path("xbf_i16.npy"), "--in", "npy:" + path("a.npy"),
            "--precision", "bf16")
    check(r.returncode == 0, f"bf16 int16 bits: {r.returncode} {r.stderr}")

    # 9. Stages: the oracle's own dump matches; a changed step is found.
    run("oracle", "--method", "mxr", "--precision", "fp16", "--in", "npy:" + path("a.npy"),
        "--out", path("xd.npy"), "--dump-stages", path("stages"), "--dump-sample", "1")
    r = run("compare", "--device", path("x.npy"), "--in", "npy:" + path("a.npy"),
            "--precision", "fp16", "--device-stages", path("stages"),
            "--stage-sample", "1", "--json")
    j = json.loads(r.stdout)
    check(r.returncode == 0 and j["stages"]["first_divergent"] is None, "stages match")
    man = json.load(open(path("stages/manifest.json")))
    step = next(s for s in man["steps"] if s["op"] == "matmul" and s["index"] > 3)
    f = path("stages/" + step["output"]["file"])
    buf = np.load(f)
    r0, c0 = step["output"]["rows"][0], step["output"]["cols"][0]
    buf[r0, c0] = buf[r0, c0] + 1.0
    np.save(f, buf)
    r = run("compare", "--device", path("x.npy"), "--in", "npy:" + path("a.npy"),
            "--precision", "fp16", "--device-stages", path("stages"),
            "--stage-sample", "1", "--json")
    fd = json.loads(r.stdout)["stages"]["first_divergent"]
    check(fd is not None and fd["step"] == step["index"] and
          (fd["first"]["row"], fd["first"]["col"]) == (r0, c0), f"divergent {fd}")

    # 10. JUnit: one case per matrix plus per check.
    r = run("compare", "--device", path("y.npy"), "--expected", path("x.npy"),
            "--precision", "fp16", "--junit", path("j.xml"))
    suite = ET.parse(path("j.xml")).getroot()
    cases = suite.findall("testcase")
    check(len(cases) == 4 + 1, f"junit cases {len(cases)}")
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    check(failed == ["matrix 2 (n=2)", "bit_identical_rate"], f"junit failures {failed}")

    # 11. Layer outputs as file sets driven by the expected manifest.
    os.makedirs(path("exp_out"))
    os.makedirs(path("dev_out"))
    o_val = rng.normal(size=(2, 64, 128)).astype(np.float16)
    s_val = rng.normal(size=(128, 128)).astype(np.float32)
    np.save(path("exp_out/O.npy"), o_val)
    np.save(path("exp_out/O_ref.npy"), o_val.astype(np.float64) * (1 + 1e-4))
    np.save(path("exp_out/S.npy"), s_val)
    json.dump({"outputs": [{"name": "O", "file": "O.npy", "format": "fp16",
                            "reference": "O_ref.npy"},
                           {"name": "S", "file": "S.npy", "format": "fp32"}]},
              open(path("exp_out/manifest.json"), "w"))
    np.save(path("dev_out/O.npy"), o_val)
    s_dev = s_val.copy()
    s_dev.view(np.uint32)[100, 7] += 3
    np.save(path("dev_out/S.npy"), s_dev)
    r = run("compare", "--device-outputs", path("dev_out"), "--expected-outputs",
            path("exp_out"), "--json")
    check(r.returncode == 3, f"outputs exit {r.returncode}: {r.stderr}")
    outs = {o["name"]: o for o in json.loads(r.stdout)["outputs"]}
    check(outs["O"]["pass"] and outs["O"]["reference"]["frob_rel"] > 0, "O identical, has reference")
    w = outs["S"]["oracle"]["worst"]
    check(not outs["S"]["pass"] and (w["row"], w["col"], w["ulp"]) == (100, 7, 3),
          f"S worst {w}")
    os.remove(path("dev_out/S.npy"))
    r = run("compare", "--device-outputs", path("dev_out"), "--expected-outputs",
            path("exp_out"))
    check(r.returncode == 1 and "no S.npy" in r.stderr, f"missing output: {r.stderr}")

    # 12. Bad input: one line, exit 1 (content) / 2 (usage), nothing written.
    def bad(args, code, what):
        if os.path.exists(path("bad.xml")):
            os.remove(path("bad.xml"))
        r = run("compare", *args, "--junit", path("bad.xml"))
        check(r.returncode == code, f"{what}: exit {r.returncode} (want {code}): {r.stderr}")
        check(len(r.stderr.strip().splitlines()) == 1 and "error" in r.stderr,
              f"{what}: one-line error: {r.stderr!r}")
        check(not os.path.exists(path("bad.xml")), f"{what}: nothing written")
    np.save(path("x32.npy"), x.astype(np.float32))
    bad(["--device", path("x32.npy"), "--in", "npy:" + path("a.npy"), "--precision", "fp16"],
        1, "dtype mismatch")
    np.save(path("x3.npy"), x[:3])
    bad(["--device", path("x3.npy"), "--in", "npy:" + path("a.npy"), "--precision", "fp16"],
        1, "count mismatch")
    bad(["--device", path("x.npy"), "--in", "npy:" + path("a.npy"), "--layout", "bthc"],
        1, "shape vs layout")
    open(path("x.txt"), "w").write("1 2 3")
    bad(["--device", path("x.txt"), "--expected", path("x.npy")], 2, "not npy/bin")
    x.tofile(path("short.bin"))
    bad(["--device", path("short.bin"), "--dtype", "float16", "--shape", "5,64,64",
         "--expected", path("x.npy")], 1, ".bin size")
    bad(["--device", path("x.npy")], 2, "no --in/--expected")
    bad(["--device", path("x.npy"), "--expected", path("x.npy"), "--preset", "nope"],
        2, "unknown preset")
    bad(["--device", path("x.npy"), "--expected", path("x.npy"), "--preset", "fla"],
        2, "fla needs the reference")
    bad(["--device", path("x.npy"), "--expected", path("x.npy"), "--cu-seqlens", "0,1"],
        2, "cu-seqlens without thc")

finish()
