"""The npy-gdn capture the layer CLI tests share (layer_cli_test.py,
layer_kda_cli_test.py): random k, q, v, beta and a gate written as the
files `--input npy-gdn:DIR` reads (core/inputs.h), and the key/query
normalisation the layer applies, for the tests' numpy references.
"""
import os

import numpy as np


def write_capture(tmp, rng, t, h, hv, dk, dv, gate, cu_seqlens):
    """Writes tmp/cap/{k,q,v,beta,g,cu_seqlens}.npy and returns (dir, k, q,
    v, beta, g): k, q [t, h, dk] and v [t, hv, dv] standard normal, beta
    [t, hv] uniform in [0.2, 0.9] (fp32, drawn from rng in that order), then
    g = gate(rng) (fp32: [t, hv] per token or [t, hv, dk] per channel);
    cu_seqlens int32."""
    d = os.path.join(tmp, "cap")
    os.mkdir(d)
    k = rng.standard_normal((t, h, dk)).astype(np.float32)
    q = rng.standard_normal((t, h, dk)).astype(np.float32)
    v = rng.standard_normal((t, hv, dv)).astype(np.float32)
    beta = rng.uniform(0.2, 0.9, (t, hv)).astype(np.float32)
    g = gate(rng)
    for name, x in [("k", k), ("q", q), ("v", v), ("beta", beta), ("g", g)]:
        np.save(os.path.join(d, name + ".npy"), x)
    np.save(os.path.join(d, "cu_seqlens.npy"), np.array(cu_seqlens, np.int32))
    return d, k, q, v, beta, g


def norm(x):
    """Rows scaled to unit L2 norm (the layer's key/query normalisation)."""
    return x / np.linalg.norm(x, axis=-1, keepdims=True)
