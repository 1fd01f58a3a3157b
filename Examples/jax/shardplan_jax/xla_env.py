"""Set `XLA_FLAGS` for the sharding check; must run before JAX is first imported."""

from __future__ import annotations

import os
import sys

#: XLA's CPU backend merges all-reduces into tuple all-reduces unless this pass is disabled; the
#: collective check wants one all-reduce per logical reduction.
NO_COMBINER_FLAG = "--xla_disable_hlo_passes=cpu-all-reduce-combiner"


def configure_cpu_devices(count: int = 8) -> None:
    """Ask XLA for `count` simulated CPU devices and uncombined all-reduces.

    Flags already in `XLA_FLAGS` are kept (a device count given there wins). Raises RuntimeError when
    JAX was imported before this call, since XLA reads the flags only once."""
    if "jax" in sys.modules:
        import jax

        if len(jax.devices("cpu")) >= count:
            return
        raise RuntimeError(
            f"JAX was imported before XLA_FLAGS could ask for {count} CPU devices; run with "
            f"XLA_FLAGS='--xla_force_host_platform_device_count={count} {NO_COMBINER_FLAG}' or import "
            "shardplan_jax.run before jax")
    flags = os.environ.get("XLA_FLAGS", "").split()
    if not any(f.startswith("--xla_force_host_platform_device_count") for f in flags):
        flags.append(f"--xla_force_host_platform_device_count={count}")
    if not any(f.startswith("--xla_disable_hlo_passes") for f in flags):
        flags.append(NO_COMBINER_FLAG)
    os.environ["XLA_FLAGS"] = " ".join(flags)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
