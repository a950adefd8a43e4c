"""trisim: bit-accurate simulator of low-precision triangular inversion.

Functions (keyword names as the CLI's flags; arrays are numpy):
  oracle(A, method=, precision=, seed=, order=, ...) -> ndarray
  compare(device, expected=None, A=None, method=, precision=, preset=,
          layout=, cu_seqlens=, upper=, ...) -> dict (trisim compare --json)
  error(method=, precision=, chunk=, input=, samples=, ...) -> dict
  cost(method=, precision=, chunk=, batch=, heads=, seq=, profile=) -> dict
  quantize(x, format=, rounding=, scale=, seed=) -> (codes, scales)
  dequantize(q, scales, scale=, to=, scale_mantissa_bits=) -> ndarray
Bad input raises ValueError with the CLI's message.

When the compiled module does not import (another Python, no build),
`python3 -m trisim ARGS` still runs the trisim command line.
"""
try:
    from ._trisim import compare, cost, dequantize, error, oracle, quantize  # noqa: F401
except ImportError as _error:  # pragma: no cover - depends on the build
    _import_error = _error

    def __getattr__(name):
        raise ImportError(
            f"trisim.{name}: the compiled module did not import ({_import_error}); "
            "use `python3 -m trisim ...` (the CLI) instead")
