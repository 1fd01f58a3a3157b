"""Mapping between NumPy/JAX dtypes and the dtype names of SPEC section 1."""

from __future__ import annotations

import numpy as np

#: SPEC dtype names, in SPEC order.
SPEC_DTYPES: tuple[str, ...] = ("f32", "tf32", "bf16", "f16", "fp8", "i64", "i32", "i8", "bool")

#: Bytes per element of each SPEC dtype (tf32 is stored in 32 bits).
DTYPE_BYTES: dict[str, int] = {
    "f32": 4, "tf32": 4, "bf16": 2, "f16": 2, "fp8": 1, "i64": 8, "i32": 4, "i8": 1, "bool": 1,
}

FLOAT_DTYPES: frozenset[str] = frozenset({"f32", "tf32", "bf16", "f16", "fp8"})
INT_DTYPES: frozenset[str] = frozenset({"i64", "i32", "i8"})

_FROM_NUMPY: dict[str, str] = {
    "float32": "f32",
    "bfloat16": "bf16",
    "float16": "f16",
    "float8_e4m3fn": "fp8",
    "float8_e5m2": "fp8",
    "float8_e4m3": "fp8",
    "float8_e4m3fnuz": "fp8",
    "float8_e5m2fnuz": "fp8",
    "float8_e4m3b11fnuz": "fp8",
    "int64": "i64",
    "int32": "i32",
    "int8": "i8",
    "bool": "bool",
}


class DtypeError(ValueError):
    """A dtype that `shardplan.graph/1` cannot express."""


def spec_dtype(dtype: object) -> str:
    """Return the SPEC name (`f32`, `bf16`, ...) of a NumPy/JAX dtype, or raise `DtypeError` (also for JAX's
    extended dtypes, such as the `key<fry>` of a `jax.random` key, which NumPy cannot interpret)."""
    try:
        name = np.dtype(dtype).name
    except TypeError:
        raise DtypeError(f"dtype {dtype} has no shardplan.graph/1 name (known: {', '.join(SPEC_DTYPES)})") from None
    try:
        return _FROM_NUMPY[name]
    except KeyError:
        raise DtypeError(
            f"dtype {name} has no shardplan.graph/1 name (known: {', '.join(SPEC_DTYPES)}); "
            "cast to one of those before exporting"
        ) from None


def numpy_dtype(spec: str) -> np.dtype:
    """Return the NumPy dtype that runs a SPEC dtype on CPU (`tf32` runs as float32, `fp8` as e4m3fn)."""
    import ml_dtypes  # shipped with jaxlib

    table = {
        "f32": np.dtype(np.float32),
        "tf32": np.dtype(np.float32),
        "bf16": np.dtype(ml_dtypes.bfloat16),
        "f16": np.dtype(np.float16),
        "fp8": np.dtype(ml_dtypes.float8_e4m3fn),
        "i64": np.dtype(np.int64),
        "i32": np.dtype(np.int32),
        "i8": np.dtype(np.int8),
        "bool": np.dtype(np.bool_),
    }
    try:
        return table[spec]
    except KeyError:
        raise DtypeError(f"unknown dtype {spec!r} (known: {', '.join(SPEC_DTYPES)})") from None
