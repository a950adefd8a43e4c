#!/usr/bin/python3
"""Writes the seed corpora fuzz/corpus/<target>/ (small valid and edge files).

Run from anywhere: /usr/bin/python3 fuzz/make_seeds.py. The files are
committed; rerun only to change them. Container format: fuzz/fuzz_common.h.
"""
import io
import os
import shutil

import numpy as np

ROOT = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(ROOT)
rng = np.random.default_rng(7)


def npy(array, version=None, fortran=False):
    buf = io.BytesIO()
    array = np.asfortranarray(array) if fortran else np.ascontiguousarray(array)
    if version is None:
        np.save(buf, array)
    else:
        np.lib.format.write_array(buf, array, version=version)
    return buf.getvalue()


def lower(c, n=None, dtype=np.float64, scale=0.5):
    shape = (c, c) if n is None else (n, c, c)
    a = rng.uniform(0, scale, size=shape)
    a = np.tril(a, -1)
    return a.astype(dtype)


def container(head, files):
    out = head.encode()
    for name, data in files:
        data = data if isinstance(data, bytes) else data.encode()
        out += b"\n--- " + name.encode() + b"\n" + data
    return out


def write(target, name, data):
    d = os.path.join(ROOT, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def main():
    shutil.rmtree(os.path.join(ROOT, "corpus"), ignore_errors=True)

    # .npy reader: every dtype, orders, versions, scalars and empty shapes.
    for dt in ["<f2", "<f4", "<f8", "|i1", "|u1", "<i2", "<u2", "<i4", "<i8"]:
        write("npy", "2x3_" + dt[1:] + ".npy",
              npy((np.arange(6).reshape(2, 3) - 2).astype(dt)))
    write("npy", "big_endian_f4.npy", npy(np.arange(4, dtype=">f4")))
    write("npy", "fortran_3x2.npy", npy(np.arange(6.0).reshape(3, 2), fortran=True))
    write("npy", "v2_header.npy", npy(np.arange(3.0), version=(2, 0)))
    write("npy", "v3_header.npy", npy(np.arange(3.0), version=(3, 0)))
    write("npy", "scalar.npy", npy(np.float32(1.5)))
    write("npy", "empty_0x4.npy", npy(np.zeros((0, 4))))
    write("npy", "lower_16.npy", npy(lower(16)))
    write("npy", "nan_inf.npy", npy(np.array([np.nan, np.inf, -0.0], "<f4")))

    # Recipe TOML: a full recipe, overrides on a base, exact, a base file.
    full = "\n".join([
        'name = "mine"', 'description = "int8, per 16x16 block"',
        'input = "fp16"', 'operand = "int8"', 'operand_scale = "block:16"',
        'int16 = "emulated"', 'accumulator = "int32"', 'order = "fractal"',
        'storage = "fp16"', 'vector = "fp32"', 'output = "fp16"',
        'rounding = "nearest-even"', 'accumulator_overflow = "wrap"',
        'float_overflow = "ieee"', 'scale_mantissa_bits = 10', ""])
    write("recipe", "full.toml", full)
    write("recipe", "base_override.toml",
          'base = "fp16"\nstorage = "fp32"\norder = "sequential"\n')
    write("recipe", "exact.toml", 'name = "ref"\nexact = true\n')
    write("recipe", "int16_native.toml",
          'base = "int16-acc64"\nint16 = "native"\nrounding = "stochastic"\n')
    write("recipe", "base_file.toml",
          container('base = "$D/b.toml"\noutput = "fp32"\n',
                    [("b.toml", 'base = "bf16"\nfloat_overflow = "saturate"\n')]))

    # Profile TOML: the shipped profiles.
    profiles = os.path.join(REPO, "sim", "profiles")
    for f in sorted(os.listdir(profiles)):
        if f.endswith(".toml"):
            with open(os.path.join(profiles, f), "rb") as src:
                write("profile", f, src.read())

    # Input specs with their files.
    t, h, dk = 48, 2, 8
    k = rng.standard_normal((t, h, dk)).astype("<f4")
    beta = rng.uniform(0, 1, (t, h)).astype("<f4")
    g = -rng.uniform(0, 0.2, (t, h)).astype("<f4")
    v = rng.standard_normal((t, h, 4)).astype("<f4")
    q = rng.standard_normal((t, h, dk)).astype("<f4")
    seqlens = np.array([0, 32, 48], "<i4")
    write("inputs", "uniform", "16 uniform:0.5")
    write("inputs", "ones", "32 ones")
    write("inputs", "block_ones", "32 block-ones:8")
    write("inputs", "gdn", "16 gdn:rho=0.9,dirs=3,dk=16,dv=8,state=zero")
    write("inputs", "gdn_files", container(
        "16 gdn:beta=$D/beta.npy,g=$D/g.npy,dk=8,dv=4",
        [("beta.npy", npy(beta)), ("g.npy", npy(g)), ("cu_seqlens.npy", npy(seqlens))]))
    write("inputs", "npy", container("0 npy:$D/a.npy", [("a.npy", npy(lower(16, 2)))]))
    write("inputs", "npy_f16", container("16 npy:$D/a.npy",
                                         [("a.npy", npy(lower(16, dtype="<f2")))]))
    write("inputs", "npy_gdn", container("16 npy-gdn:$D", [
        ("k.npy", npy(k)), ("beta.npy", npy(beta)), ("g.npy", npy(g)),
        ("v.npy", npy(v)), ("q.npy", npy(q)), ("cu_seqlens.npy", npy(seqlens))]))
    write("inputs", "npy_gdn_2d", container("16 npy-gdn:$D", [
        ("k.npy", npy(k[:, 0])), ("beta.npy", npy(beta[:, 0])),
        ("g.npy", npy(g[:, 0]))]))

    # recommend's --methods, --chunks, --precisions.
    write("method_spec", "default", "vcs,fla,mbh,mxr,neumann,dn-split\n32,64,128\n"
          "fp16,bf16,int8-block16")
    write("method_spec", "options", "neumann:order=5/steps=4/mask=band:8/residual=newton,"
          "mbh:block=4,ns:iters=3\n16,32\nfp64")
    write("method_spec", "dn_split", "dn-split:block=8/inner=mch/outer=mbh\n16\nint8")
    write("method_spec", "mask_block", "neumann:mask=block:4\n,16,,\n")

    # The file-reading subcommands.
    x = rng.standard_normal((4, 8)).astype("<f4")
    write("cli", "quantize_int8_row", container(
        "quantize $D/x.npy $D/q.npy --format int8 --scale row --scales-out $D/s.npy",
        [("x.npy", npy(x))]))
    write("cli", "quantize_fp8_block", container(
        "quantize $D/x.npy $D/q.npy --format e4m3 --scale block:2x4 --rounding stochastic",
        [("x.npy", npy(x))]))
    write("cli", "quantize_bf16", container(
        "quantize $D/x.npy $D/q.npy --format bf16", [("x.npy", npy(x.astype("<f8")))]))
    ints = rng.integers(-128, 128, (4, 8)).astype("|i1")
    write("cli", "dequantize_int8", container(
        "dequantize $D/q.npy $D/y.npy --scale row --scales $D/s.npy",
        [("q.npy", npy(ints)), ("s.npy", npy(np.full((4, 1), 0.01, "<f4")))]))
    write("cli", "dequantize_asym", container(
        "dequantize $D/q.npy $D/y.npy --scale tensor --scales $D/s.npy "
        "--zero-points $D/z.npy --to fp16",
        [("q.npy", npy(ints)), ("s.npy", npy(np.full((1, 1), 0.5, "<f4"))),
         ("z.npy", npy(np.full((1, 1), 3, "<i4")))]))
    write("cli", "oracle_npy", container(
        "oracle --method mxr --precision fp16 --in npy:$D/a.npy --out $D/x.npy",
        [("a.npy", npy(lower(32, 2, dtype="<f2")))]))
    write("cli", "oracle_dump", container(
        "oracle --method fla --precision int8-block16 --in npy:$D/a.npy --out $D/x.npy "
        "--dump-stages $D/st",
        [("a.npy", npy(lower(16)))]))
    write("cli", "oracle_npy_gdn", container(
        "oracle --method vcs --precision bf16 --in npy-gdn:$D --chunk 16 --out $D/x.npy",
        [("k.npy", npy(k)), ("beta.npy", npy(beta)), ("g.npy", npy(g))]))
    write("cli", "oracle_recipe_file", container(
        "oracle --method mch --precision $D/r.toml --in npy:$D/a.npy --out $D/x.npy",
        [("a.npy", npy(lower(16, dtype="<f4"))),
         ("r.toml", b'base = "int8"\noperand_scale = "row"\n')]))
    # Output files that exist: refused without --force (nothing may change),
    # replaced with it (core/output_files.h).
    write("cli", "oracle_out_exists", container(
        "oracle --method mxr --precision fp16 --in npy:$D/a.npy --out $D/x.npy",
        [("a.npy", npy(lower(16, dtype="<f4"))), ("x.npy", b"user data")]))
    write("cli", "quantize_force", container(
        "quantize $D/x.npy $D/q.npy --format int8 --scale tensor "
        "--scales-out $D/s.npy --force",
        [("x.npy", npy(x)), ("q.npy", b"old"), ("s.npy", b"old")]))


if __name__ == "__main__":
    main()
