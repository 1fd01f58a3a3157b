"""ShardPlan's JAX engine: export JAX functions as `shardplan.graph/1`, run `shardplan.plan/1` plans.

This package's `__init__` imports nothing from JAX on purpose: `shardplan_jax.run` must set
`XLA_FLAGS` (simulated CPU devices) before JAX is imported for the first time.
"""

GRAPH_FORMAT = "shardplan.graph/1"
PLAN_FORMAT = "shardplan.plan/1"

__all__ = ["GRAPH_FORMAT", "PLAN_FORMAT"]
