"""The GDN layer end to end: npy-gdn sequences in `trisim error` (zero and
carry mode), `trisim oracle --layer-out`, and one-line errors on bad input.
The layer outputs are checked against an independent numpy fp64 chunk form.

Run by ctest as: /usr/bin/python3 layer_cli_test.py TRISIM_BINARY
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from checks import check, finish  # noqa: E402 (tests/checks.py)
from gdn_capture import norm, write_capture  # noqa: E402

TRISIM = sys.argv[1]


def run(*args):
    return subprocess.run([TRISIM, *args], capture_output=True, text=True,
                          timeout=300)


def chunk_reference(k, v, q, beta, g, s):
    """fp64 chunk form of ../shared/docs/DOMAIN.md section 1 (numpy)."""
    c = k.shape[0]
    big_g = np.cumsum(g)
    decay = np.exp(big_g[:, None] - big_g[None, :])
    a = np.tril(beta[:, None] * (k @ k.T) * decay, -1)
    t = np.linalg.inv(np.eye(c) + a)
    w = t @ ((beta * np.exp(big_g))[:, None] * k)
    u = t @ (beta[:, None] * v)
    vn = u - w @ s
    o = (np.exp(big_g)[:, None] * q) @ s + np.tril((q @ k.T) * decay) @ vn
    s_next = np.exp(big_g[-1]) * s + (np.exp(big_g[-1] - big_g)[:, None] * k).T @ vn
    return t, w, u, o, s_next


rng = np.random.default_rng(3)
T, H, HV, DK, DV, C = 20, 1, 2, 8, 4, 8
with tempfile.TemporaryDirectory() as tmp:
    d, k, q, v, beta, g = write_capture(
        tmp, rng, T, H, HV, DK, DV,
        lambda r: r.uniform(-0.3, 0.0, (T, HV)).astype(np.float32),
        [0, 12, 20])
    np.save(os.path.join(d, "extra.npy"), np.zeros(3))

    # Zero mode: 3 chunks (12 = 8 + 4 padded, 8) x 2 value heads.
    r = run("error", "--method", "vcs", "--precision", "gpu-bf16", "--chunk",
            str(C), "--input", "npy-gdn:" + d, "--json", "--threads", "1")
    check(r.returncode == 0, f"error zero mode: {r.stderr}")
    if r.returncode == 0:
        j = json.loads(r.stdout)
        check(j["layer"] == "recipe" and not j["carry"], "zero mode header")
        check(j["chunks"] == 6, f"chunks {j['chunks']}")
        check(j["padded_tokens"] == 8, f"padded {j['padded_tokens']}")
        check(j["O"]["frob_rel"]["max"] < 0.05, "O close to fp64 (bf16)")
    check("extra.npy" in r.stderr and "not used" in r.stderr,
          f"unused file notice: {r.stderr}")
    check("zero padding" in r.stderr, "padding notice")

    # Carry mode: 2 sequences x 2 value heads, O by chunk index.
    r = run("error", "--method", "vcs", "--precision", "gpu-fp16", "--chunk",
            str(C), "--input", "npy-gdn:" + d + ",carry=on", "--json")
    check(r.returncode == 0, f"error carry mode: {r.stderr}")
    if r.returncode == 0:
        j = json.loads(r.stdout)
        check(j["carry"] and j["samples"] == 4, "carry header")
        check(len(j["O_by_chunk"]) == 2, f"O_by_chunk {j.get('O_by_chunk')}")
        check(j["S_final"]["frob_rel"]["max"] < 0.02, "S_final error small")

    # Exact layer for a recipe without layer fields: says so.
    r = run("error", "--method", "vcs", "--precision", "fp32", "--chunk",
            str(C), "--input", "npy-gdn:" + d)
    check(r.returncode == 0 and "exact fp64 around the simulated T" in r.stdout,
          "exact layer named")

    # Oracle: layer outputs, against the numpy fp64 chunk form.
    out = os.path.join(tmp, "layer")
    r = run("oracle", "--method", "vcs", "--precision", "gpu-fp32", "--chunk",
            str(C), "--in", "npy-gdn:" + d + ",carry=on", "--out",
            os.path.join(tmp, "t.npy"), "--layer-out", out)
    check(r.returncode == 0, f"oracle --layer-out: {r.stderr}")
    if r.returncode == 0:
        o = np.load(os.path.join(out, "O.npy"))
        s_final = np.load(os.path.join(out, "S_final.npy"))
        t_out = np.load(os.path.join(tmp, "t.npy"))
        check(o.shape == (6, C, DV) and s_final.shape == (4, DK, DV),
              f"shapes {o.shape} {s_final.shape}")
        check(np.array_equal(t_out.astype(np.float64),
                             np.load(os.path.join(out, "T.npy"))),
              "--out holds T of the layer")
        # Sequence 1 (tokens 12..19), value head 1 -> key head 0: one chunk
        # from a zero state; chunk order is (sequence, head) x chunks.
        kk = norm(k[12:20, 0].astype(np.float64))
        qq = norm(q[12:20, 0].astype(np.float64)) / np.sqrt(DK)
        _, _, _, o_ref, s_ref = chunk_reference(
            kk, v[12:20, 1].astype(np.float64), qq,
            beta[12:20, 1].astype(np.float64), g[12:20, 1].astype(np.float64),
            np.zeros((DK, DV)))
        got_o = o[5]
        check(np.abs(got_o - o_ref).max() < 5e-3 * max(1.0, np.abs(o_ref).max()),
              f"O vs numpy: {np.abs(got_o - o_ref).max()}")
        check(np.abs(s_final[3] - s_ref).max() < 5e-3 * np.abs(s_ref).max(),
              "S_final vs numpy")
    r = run("oracle", "--precision", "gpu-fp32", "--chunk", str(C), "--in",
            "npy-gdn:" + d, "--out", os.path.join(tmp, "t2.npy"),
            "--layer-out", out)
    check(r.returncode != 0 and "exists" in r.stderr, "refuses existing dir")

    # Bad input: one line naming the file, the value and what is allowed.
    def bad(name, array, want):
        saved = np.load(os.path.join(d, name))
        np.save(os.path.join(d, name), array)
        r = run("error", "--precision", "gpu-bf16", "--chunk", str(C),
                "--input", "npy-gdn:" + d)
        np.save(os.path.join(d, name), saved)
        lines = r.stderr.strip().splitlines()
        check(r.returncode != 0 and len(lines) == 1 and want in r.stderr
              and name in r.stderr, f"{name} {want}: {r.returncode} {r.stderr}")

    b = beta.copy()
    b[2, 1] = 5.0
    bad("beta.npy", b, "outside [0, 1]")
    bad("k.npy", k.astype(np.int32), "float dtype")
    bad("k.npy", np.zeros((T, 0, DK), np.float32), "empty")
    bad("cu_seqlens.npy", np.array([0, 30, 20], np.int32), "cu_seqlens")
    bad("cu_seqlens.npy", np.array([0, -1, 20], np.int64), "cu_seqlens")
    bad("v.npy", v[:, :1], "v.npy")
    gg = g.copy()
    gg[0, 0] = np.nan
    bad("g.npy", gg, "non-finite")

finish()
