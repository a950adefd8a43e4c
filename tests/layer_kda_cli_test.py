"""KDA gates (per-channel log-decay g [T, HV, d_k], Kimi Linear) and the
layer's file sets end to end:
- `trisim oracle --layer-out` on an npy-gdn capture with per-channel g: its
  fp64 reference outputs (NAME_fp64.npy) against an independent numpy
  token-by-token recurrence written from FLA's public naive_recurrent_kda
  (fla/ops/kda/naive.py), and its recipe outputs against the same within
  the recipe's precision;
- the layer-out manifest is the one `trisim compare --expected-outputs`
  reads: identical sets pass (exit 0), a set with one value moved by one
  ulp fails (exit 3) naming that output;
- `--dump-stages` with a layer recipe dumps the chunk's A, T, W, U, Vn, O,
  S_next beside the inverse's steps (manifest "outputs");
- `trisim error` runs KDA captures in carry mode.

Run by ctest as: /usr/bin/python3 layer_kda_cli_test.py TRISIM_BINARY
"""
import json
import os
import shutil
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


def naive_recurrent_kda(q, k, v, g, beta, s):
    """fla/ops/kda/naive.py naive_recurrent_kda for one head, fp64: q already
    scaled; g [T, K] per-channel log-decay; s [K, V] initial state."""
    o = np.zeros_like(v)
    for t in range(k.shape[0]):
        s = s * np.exp(g[t])[:, None]
        s = s + np.outer(beta[t] * k[t], v[t] - (k[t][:, None] * s).sum(0))
        o[t] = q[t] @ s
    return o, s


rng = np.random.default_rng(13)
T, H, HV, DK, DV, C = 40, 1, 2, 16, 8, 16
with tempfile.TemporaryDirectory() as tmp:
    def kda_gate(r):
        """Channels decaying at very different rates (some near 0, some
        fast)."""
        rate = r.uniform(0.0, 2.0, (HV, DK))
        return (-r.uniform(0.0, 0.3, (T, HV, 1)) * rate[None]).astype(
            np.float32)

    d, k, q, v, beta, g = write_capture(tmp, rng, T, H, HV, DK, DV, kda_gate,
                                        [0, 28, 40])
    spec = "npy-gdn:" + d + ",carry=on"

    out = os.path.join(tmp, "layer")
    r = run("oracle", "--method", "vcs", "--precision", "gpu-fp32", "--chunk",
            str(C), "--in", spec, "--out", os.path.join(tmp, "t.npy"),
            "--layer-out", out)
    check(r.returncode == 0, f"oracle --layer-out (KDA): {r.stderr}")
    check("per-channel" in r.stderr, f"KDA notice: {r.stderr}")
    if r.returncode == 0:
        manifest = json.load(open(os.path.join(out, "manifest.json")))
        names = [e["name"] for e in manifest["outputs"]]
        check(names == ["A", "T", "W", "U", "Vn", "O", "S_final"],
              f"manifest outputs {names}")
        check(all(os.path.exists(os.path.join(out, e["file"])) and
                  os.path.exists(os.path.join(out, e["reference"]))
                  for e in manifest["outputs"]), "manifest files exist")
        o_ref = np.load(os.path.join(out, "O_fp64.npy"))
        s_ref = np.load(os.path.join(out, "S_final_fp64.npy"))
        o_got = np.load(os.path.join(out, "O.npy"))
        s_got = np.load(os.path.join(out, "S_final.npy"))
        # Chunks: sequence 0 (28 tokens: 2 chunks) x 2 heads, then
        # sequence 1 (12 tokens: 1 chunk) x 2 heads; (sequence, head) major.
        check(o_ref.shape == (6, C, DV) and s_ref.shape == (4, DK, DV),
              f"shapes {o_ref.shape} {s_ref.shape}")
        worst_ref = worst_got = 0.0
        index = 0
        for seq, (s0, s1) in enumerate([(0, 28), (28, 40)]):
            for head in range(HV):
                kk = norm(k[s0:s1, 0].astype(np.float64))
                qq = norm(q[s0:s1, 0].astype(np.float64)) / np.sqrt(DK)
                o_np, s_np = naive_recurrent_kda(
                    qq, kk, v[s0:s1, head].astype(np.float64),
                    g[s0:s1, head].astype(np.float64),
                    beta[s0:s1, head].astype(np.float64), np.zeros((DK, DV)))
                n = s1 - s0
                chunks = -(-n // C)
                o_t = o_ref[index:index + chunks].reshape(-1, DV)[:n]
                o_g = o_got[index:index + chunks].reshape(-1, DV)[:n]
                index += chunks
                scale = np.abs(o_np).max()
                worst_ref = max(worst_ref, np.abs(o_t - o_np).max() / scale,
                                np.abs(s_ref[seq * HV + head] - s_np).max() /
                                np.abs(s_np).max())
                worst_got = max(worst_got, np.abs(o_g - o_np).max() / scale,
                                np.abs(s_got[seq * HV + head] - s_np).max() /
                                np.abs(s_np).max())
        print(f"KDA fp64 reference vs numpy recurrence: {worst_ref:.2e}; "
              f"gpu-fp32 layer vs numpy: {worst_got:.2e}")
        check(worst_ref < 1e-10, f"fp64 reference vs numpy: {worst_ref}")
        check(1e-9 < worst_got < 2e-2, f"gpu-fp32 layer vs numpy: {worst_got}")

        # compare reads the manifest: identical sets pass ...
        r = run("compare", "--device-outputs", out, "--expected-outputs", out,
                "--json")
        check(r.returncode == 0, f"compare identical: {r.returncode} {r.stderr}")
        if r.returncode == 0:
            j = json.loads(r.stdout)
            check(len(j["outputs"]) == 7, "compare saw every output")
        # ... and one ulp moved in O fails with exit 3, naming O.
        dev = os.path.join(tmp, "device")
        shutil.copytree(out, dev)
        o_dev = np.load(os.path.join(dev, "O.npy"))
        x = np.float32(o_dev[1, 3, 2])
        o_dev[1, 3, 2] = np.nextafter(x, np.float32(np.inf))
        np.save(os.path.join(dev, "O.npy"), o_dev)
        r = run("compare", "--device-outputs", dev, "--expected-outputs", out,
                "--json")
        check(r.returncode == 3, f"compare perturbed: {r.returncode} {r.stderr}")
        if r.stdout:
            j = json.loads(r.stdout)
            failed = [e["name"] for e in j["outputs"] if not e["pass"]]
            check(failed == ["O"], f"failing outputs {failed}")

    # Stage dumps with a layer recipe: the chunk's layer tensors.
    dump = os.path.join(tmp, "dump")
    r = run("oracle", "--method", "vcs", "--precision", "gpu-bf16", "--chunk",
            str(C), "--in", spec, "--out", os.path.join(tmp, "t2.npy"),
            "--layer-out", os.path.join(tmp, "layer2"), "--dump-stages", dump,
            "--dump-sample", "2")
    check(r.returncode == 0, f"oracle --dump-stages (layer): {r.stderr}")
    if r.returncode == 0:
        m = json.load(open(os.path.join(dump, "manifest.json")))
        names = [e["name"] for e in m.get("outputs", [])]
        check(names == ["A", "T", "W", "U", "Vn", "O", "S_next"],
              f"dump outputs {names}")
        layer_t = np.load(os.path.join(tmp, "layer2", "T.npy"))[2]
        dumped_t = np.load(os.path.join(dump, "layer_T.npy"))
        check(layer_t.dtype == np.uint16 and np.array_equal(layer_t, dumped_t),
              "dumped T is chunk 2's (bf16 bits)")
        # The inverse's steps start from the A the layer formed (fp32).
        layer_a = np.load(os.path.join(tmp, "layer2", "A.npy"))[2]
        check(np.array_equal(np.load(os.path.join(dump, "input_L.npy")),
                             layer_a.astype(np.float64)),
              "the inverse's input is the layer's A")
        check(all(f in m["files"] for f in ["layer_A.npy", "layer_S_next.npy"]),
              "layer files listed for --force")
        check(np.array_equal(np.load(os.path.join(dump, "layer_O.npy")),
                             np.load(os.path.join(tmp, "layer2", "O.npy"))[2]),
              "dumped O is chunk 2's")
        # The dump is a compare file set as it stands: chunk 2's outputs
        # from --layer-out, as a device would write them, match it.
        dev = os.path.join(tmp, "device2")
        os.mkdir(dev)
        for e in m["outputs"]:
            src = "S_final" if e["name"] == "S_next" else e["name"]
            x = np.load(os.path.join(tmp, "layer2", src + ".npy"))
            np.save(os.path.join(dev, e["name"] + ".npy"),
                    x[2] if src != "S_final" else x[0])
        r = run("compare", "--device-outputs", dev, "--expected-outputs", dump)
        # S_next of chunk 2 is not S_final of a sequence: only it differs.
        check(r.returncode == 3 and "S_next" in r.stdout,
              f"dump as a set: {r.stdout} {r.stderr}")
    r = run("oracle", "--method", "vcs", "--precision", "gpu-bf16", "--chunk",
            str(C), "--in", spec, "--out", os.path.join(tmp, "t3.npy"),
            "--dump-stages", os.path.join(tmp, "dump3"), "--dump-sample", "6")
    check(r.returncode == 2 and "--dump-sample 6" in r.stderr and
          not os.path.exists(os.path.join(tmp, "t3.npy")),
          f"dump sample out of range: {r.returncode} {r.stderr}")

    # trisim error on KDA captures, carry mode.
    r = run("error", "--method", "vcs", "--precision", "gpu-bf16", "--chunk",
            str(C), "--input", spec, "--json", "--threads", "1")
    check(r.returncode == 0, f"error KDA carry: {r.stderr}")
    if r.returncode == 0:
        j = json.loads(r.stdout)
        check(j["carry"] and len(j["O_by_chunk"]) == 2, "KDA carry report")
        check(0 < j["O"]["frob_rel"]["max"] < 0.05, "KDA O error (bf16)")

    # The generator's option.
    r = run("error", "--method", "vcs", "--precision", "gpu-bf16", "--chunk",
            "16", "--input", "gdn:dk=16,dv=16,gate=kda", "--samples", "4",
            "--json")
    check(r.returncode == 0 and "gate=kda" in r.stdout,
          f"gdn gate=kda: {r.stderr}")
    r = run("error", "--precision", "gpu-bf16", "--input", "gdn:gate=vector")
    check(r.returncode != 0 and "gate" in r.stderr and
          len(r.stderr.strip().splitlines()) == 1, f"bad gate: {r.stderr}")

finish()
