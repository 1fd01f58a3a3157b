"""Test setup: import path and 8 simulated CPU devices (set before JAX is imported)."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shardplan_jax.xla_env import configure_cpu_devices  # noqa: E402

configure_cpu_devices(8)
