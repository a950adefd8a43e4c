"""Kernel input conventions, error references, provenance and the range
report (issue 11 items 5-7), end to end through the CLI.

 - npy: forms: the same A stored as lower / upper (U = A^T) / i-plus-a /
   minus-a gives bit-identical oracle outputs; above=ignore drops stale
   values on and above the diagonal; above=check refuses them; bad keys are
   one-line errors with exit 2-or-1 and no output written.
 - --reference exact|rounded: both named in table and JSON; the rounded
   reference is numpy's inverse of A rounded to fp16 (independent).
 - provenance: the oracle writes X.npy.json (version, method, kernel,
   recipe with every field), stage dumps carry it in manifest.json, and a
   foreign X.npy.json is never overwritten.
 - range report: ||A||_inf percentiles equal numpy's; an overflowing step
   reports the magnitude its exact run needed (checked against numpy).

Run by ctest as: /usr/bin/python3 kernel_conventions_cli_test.py TRISIM
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
    return subprocess.run([TRISIM, *args], capture_output=True, text=True,
                          timeout=300)


rng = np.random.default_rng(11)
with tempfile.TemporaryDirectory() as tmp:
    def path(name):
        return os.path.join(tmp, name)

    c = 16
    a = np.tril(rng.uniform(0, 0.3, (2, c, c)), -1).astype(np.float16)
    eye = np.eye(c, dtype=np.float16)
    forms = {
        "lower": a,
        "upper": np.transpose(a, (0, 2, 1)).copy(),
        "i-plus-a": (a + eye).astype(np.float16),
        "minus-a": (-a).astype(np.float16),
    }
    outs = {}
    for form, stored in forms.items():
        np.save(path(form + ".npy"), stored)
        spec = "npy:" + path(form + ".npy") + ("" if form == "lower" else ",form=" + form)
        r = run("oracle", "--method", "mxr", "--precision", "fp16", "--in", spec,
                "--out", path("x_" + form + ".npy"))
        check(r.returncode == 0, f"oracle form={form}: {r.stderr}")
        if r.returncode == 0:
            outs[form] = np.load(path("x_" + form + ".npy")).view(np.uint16)
    for form in forms:
        if form in outs and "lower" in outs:
            check(np.array_equal(outs[form], outs["lower"]),
                  f"form={form} gives the same bits as lower")

    # Stale upper part (FLA issue 1070): refused by default, ignored on request.
    stale = a.copy()
    stale[:, 0, 5] = 7.0
    stale[:, 3, 3] = -2.0
    np.save(path("stale.npy"), stale)
    r = run("oracle", "--method", "mxr", "--precision", "fp16", "--in",
            "npy:" + path("stale.npy"), "--out", path("x_stale.npy"))
    check(r.returncode in (1, 2) and "above=ignore" in r.stderr
          and len(r.stderr.strip().splitlines()) == 1,
          f"stale upper refused in one line: {r.returncode} {r.stderr!r}")
    check(not os.path.exists(path("x_stale.npy")), "no output after a refusal")
    r = run("oracle", "--method", "mxr", "--precision", "fp16", "--in",
            "npy:" + path("stale.npy") + ",above=ignore", "--out", path("x_stale.npy"))
    check(r.returncode == 0, f"above=ignore: {r.stderr}")
    if r.returncode == 0 and "lower" in outs:
        check(np.array_equal(np.load(path("x_stale.npy")).view(np.uint16), outs["lower"]),
              "above=ignore drops the stale entries")
    # i-plus-a with a wrong diagonal; unknown form; key twice.
    bad_diag = forms["i-plus-a"].copy()
    bad_diag[0, 2, 2] = 0.5
    np.save(path("bad_diag.npy"), bad_diag)
    for spec, words in [
            ("npy:" + path("bad_diag.npy") + ",form=i-plus-a", "1 on the diagonal"),
            ("npy:" + path("lower.npy") + ",form=transposed", "unknown form"),
            ("npy:" + path("lower.npy") + ",above=maybe", "check|ignore"),
            ("npy:" + path("lower.npy") + ",form=upper,form=lower", "given twice")]:
        r = run("error", "--method", "mxr", "--precision", "fp16", "--input", spec,
                "--samples", "1")
        check(r.returncode in (1, 2) and words in r.stderr
              and len(r.stderr.strip().splitlines()) == 1,
              f"{spec}: {r.returncode} {r.stderr!r}")
    # `error` reads the same keys: upper gives the same statistics as lower.
    r1 = run("error", "--method", "mxr", "--precision", "fp16", "--input",
             "npy:" + path("lower.npy"), "--json")
    r2 = run("error", "--method", "mxr", "--precision", "fp16", "--input",
             "npy:" + path("upper.npy") + ",form=upper", "--json")
    check(r1.returncode == 0 and r2.returncode == 0, f"error on npy forms: {r2.stderr}")
    if r1.returncode == 0 and r2.returncode == 0:
        j1, j2 = json.loads(r1.stdout), json.loads(r2.stdout)
        check(j1["T"] == j2["T"], "error: upper form = lower form")
        check(j2["input"].endswith(",form=upper"), f"input named {j2['input']}")

    # --reference: exact vs rounded, stated in JSON and table.
    a64 = np.tril(rng.uniform(0, 0.5, (4, c, c)), -1)  # not fp16 values
    np.save(path("a64.npy"), a64)
    got = {}
    for ref in ("exact", "rounded"):
        r = run("error", "--method", "mxr", "--precision", "fp32", "--input",
                "npy:" + path("a64.npy"), "--reference", ref, "--json")
        check(r.returncode == 0, f"--reference {ref}: {r.stderr}")
        if r.returncode == 0:
            got[ref] = json.loads(r.stdout)
            check(got[ref]["reference"] == ref, f"JSON names reference {ref}")
        r = run("error", "--method", "mxr", "--precision", "fp32", "--input",
                "npy:" + path("a64.npy"), "--reference", ref)
        check(f"reference: {ref}" in r.stdout, f"table names reference {ref}")
    if len(got) == 2:
        # fp32 recipe: the rounded reference is inv(I + fp32(A)); the
        # oracle's X compared with numpy's inverse of the rounded A.
        r = run("oracle", "--method", "mxr", "--precision", "fp32", "--in",
                "npy:" + path("a64.npy"), "--out", path("x32.npy"))
        x32 = np.load(path("x32.npy")).astype(np.float64)
        want = {"exact": a64, "rounded": a64.astype(np.float32).astype(np.float64)}
        for ref, a_ref in want.items():
            t = np.linalg.inv(np.eye(c) + a_ref)
            max_abs = [np.abs(x32[i] - t[i]).max() for i in range(4)]
            check(abs(got[ref]["T"]["max_abs"]["max"] - max(max_abs))
                  <= 1e-3 * max(max_abs) + 1e-300,
                  f"{ref}: max_abs {got[ref]['T']['max_abs']['max']} vs numpy {max(max_abs)}")
        check(got["rounded"]["T"]["max_abs"]["max"] < got["exact"]["T"]["max_abs"]["max"],
              "the rounded reference removes the input rounding error")
        r = run("error", "--method", "mxr", "--precision", "fp32", "--input",
                "npy:" + path("a64.npy"), "--reference", "approximate")
        check(r.returncode in (1, 2) and "exact" in r.stderr and "rounded" in r.stderr,
              f"bad --reference: {r.stderr!r}")
        # ||A||_inf percentiles (4 samples: p50 is the 2nd smallest).
        norms = sorted(np.abs(a64[i]).sum(axis=1).max() for i in range(4))
        n = got["exact"]["a_norm_inf"]
        check(abs(n["max"] - norms[-1]) < 1e-12 and abs(n["p50"] - norms[1]) < 1e-12,
              f"a_norm_inf {n} vs numpy {norms}")

    # Provenance sidecar and stage-dump manifest.
    r = run("oracle", "--method", "mxr", "--precision", "fp16", "--in",
            "npy:" + path("lower.npy"), "--out", path("xp.npy"),
            "--dump-stages", path("stages"), "--seed", "5")
    check(r.returncode == 0, f"oracle with dump: {r.stderr}")
    side = path("xp.npy.json")
    check(os.path.exists(side), "sidecar written")
    if os.path.exists(side):
        p = json.load(open(side))
        check(p.get("generator") == "trisim" and p.get("version"), f"generator/version {p}")
        check(p.get("method") == "mxr" and p["kernel"]["name"] == "plan", "method and kernel")
        f = p["recipe"]["fields"]
        check(p["recipe"]["name"] == "fp16" and f["operand"] == "fp16"
              and f["rounding"] == "nearest-even" and "scale_mantissa_bits" in f,
              f"recipe fields {f}")
        check(p.get("seed") == 5 and p.get("input", "").startswith("npy:"), "input and seed")
    manifest = json.load(open(path("stages/manifest.json")))
    check(manifest.get("provenance", {}).get("generator") == "trisim"
          and manifest["provenance"]["recipe"]["fields"]["output"] == "fp16",
          "stage dump carries provenance")
    # A foreign sidecar is never overwritten, and nothing else is written.
    foreign = path("xf.npy.json")
    with open(foreign, "w") as fh:
        fh.write('{"mine": true}\n')
    r = run("oracle", "--method", "mxr", "--precision", "fp16", "--in",
            "npy:" + path("lower.npy"), "--out", path("xf.npy"))
    check(r.returncode != 0 and "not written by trisim" in r.stderr,
          f"foreign sidecar refused: {r.stderr!r}")
    check(open(foreign).read() == '{"mine": true}\n', "foreign sidecar intact")
    check(not os.path.exists(path("xf.npy")), "no output beside a foreign sidecar")
    # A rerun onto trisim's own output is refused (never overwrite without
    # --force: core/output_files.h); with --force X and its sidecar are
    # replaced.
    r = run("oracle", "--method", "mxr", "--precision", "fp32", "--in",
            "npy:" + path("lower.npy"), "--out", path("xp.npy"))
    check(r.returncode == 2 and "exists" in r.stderr and
          json.load(open(side))["recipe"]["name"] != "fp32",
          f"rerun without --force refused: {r.stderr!r}")
    r = run("oracle", "--method", "mxr", "--precision", "fp32", "--in",
            "npy:" + path("lower.npy"), "--out", path("xp.npy"), "--force")
    check(r.returncode == 0 and json.load(open(side))["recipe"]["name"] == "fp32",
          f"own sidecar replaced: {r.stderr}")
    check(not [n for n in os.listdir(tmp) if ".tmp" in n], "no temporaries left")

    # Range report: ones input, fp16 overflows in the powers of A at C = 64;
    # the step's needed magnitude is the exact max |x| (numpy-free check:
    # needed > fp16 max and > the rounded run's max |x|).
    r = run("error", "--method", "neumann", "--precision", "fp16", "--input", "ones",
            "--chunk", "64", "--samples", "1", "--json")
    check(r.returncode == 0, f"ones fp16 neumann: {r.stderr}")
    if r.returncode == 0:
        j = json.loads(r.stdout)
        over = [s for s in j["steps"] if s["overflowed"] > 0]
        check(len(over) > 0, "an fp16 step overflows on all-ones C = 64")
        check(j["shadow_samples"] == 1, f"shadow ran once: {j['shadow_samples']}")
        for s in over[:3]:
            check(s["needed_max_abs"] is not None and s["needed_max_abs"] > 65504,
                  f"step {s['index']} needed {s['needed_max_abs']}")
        check(j["a_norm_inf"]["max"] == 63, f"ones: ||A||_inf = 63, got {j['a_norm_inf']}")
        r = run("error", "--method", "neumann", "--precision", "fp16", "--input", "ones",
                "--chunk", "64", "--samples", "1")
        check("needed" in r.stdout and "||A||_inf" in r.stdout, "table shows needed and norm")
finish()
