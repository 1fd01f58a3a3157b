"""HLO collective parsing: replica group forms, axis labels, CPU reduce-scatter, byte convention."""

from __future__ import annotations

import pytest

from shardplan_jax.collectives import (axes_label, bytes_by_axis, compare, find_collectives,
                                       parse_replica_groups)

MESH, AXES = [2, 4], ["x", "y"]


@pytest.mark.parametrize("text, groups", [
    ("{{0,1,2,3},{4,5,6,7}}", [[0, 1, 2, 3], [4, 5, 6, 7]]),
    ("[4,2]<=[2,4]T(1,0)", [[0, 4], [1, 5], [2, 6], [3, 7]]),
    ("[2,4]<=[8]", [[0, 1, 2, 3], [4, 5, 6, 7]]),
    ("mesh['axis_0'=2,'axis_1'=1,'axis_2'=4] {'axis_0'}", [[0, 4], [1, 5], [2, 6], [3, 7]]),
    ("mesh['axis_0'=2,'axis_1'=4] {'axis_1'}", [[0, 1, 2, 3], [4, 5, 6, 7]]),
    ("mesh['axis_0'=4,'axis_1'=1,'axis_2'=2], device_ids=([2,4]T(1,0)) {'axis_0'}",
     [[0, 1, 2, 3], [4, 5, 6, 7]]),
    ("mesh['a'=2,'b'=4] {'b':(2)2}", [[0, 2], [1, 3], [4, 6], [5, 7]]),
    ("mesh['a'=2,'b'=4] {'a','b'}", [[0, 1, 2, 3, 4, 5, 6, 7]]),
    ("{}", [[0, 1, 2, 3, 4, 5, 6, 7]]),
])
def test_replica_group_forms(text, groups):
    assert sorted(map(sorted, parse_replica_groups(text, 8))) == sorted(map(sorted, groups))


def test_axes_labels():
    assert axes_label([[0, 4], [1, 5]], MESH, AXES) == "x"
    assert axes_label([[0, 1, 2, 3]], MESH, AXES) == "y"
    assert axes_label([list(range(8))], MESH, AXES) == "x,y"
    assert axes_label([[0, 2], [1, 3]], MESH, AXES) == "y(2 of 4)"
    assert axes_label([[0]], MESH, AXES) == "none"


HLO = """HloModule jit_step, entry_computation_layout={(f32[4,16]{1,0})->f32[1,16]{1,0}}

%add (a: f32[], b: f32[]) -> f32[] {
  %a = f32[] parameter(0)
  %b = f32[] parameter(1)
  ROOT %s = f32[] add(%a, %b)
}

%fused_slice (param_0: f32[4,16], param_1: s32[]) -> f32[1,16] {
  %param_0 = f32[4,16]{1,0} parameter(0)
  %param_1 = s32[] parameter(1)
  %zero = s32[] constant(0)
  ROOT %ds = f32[1,16]{1,0} dynamic-slice(%param_0, %param_1, %zero), dynamic_slice_sizes={1,16}
}

ENTRY %main (p: f32[4,16]) -> f32[1,16] {
  %p = f32[4,16]{1,0} parameter(0)
  %pid = s32[] partition-id()
  %ar = f32[4,16]{1,0} all-reduce(%p), channel_id=1, replica_groups=[2,4]<=[8], use_global_device_ids=true, to_apply=%add, metadata={op_name="jit(step)/dot_general"}
  %ar2 = f32[4,16]{1,0} all-reduce(%p), channel_id=2, replica_groups={{0,4},{1,5},{2,6},{3,7}}, use_global_device_ids=true, to_apply=%add
  %ag = bf16[8,16]{1,0} all-gather(%p), channel_id=3, replica_groups={{0,4},{1,5},{2,6},{3,7}}, dimensions={0}, use_global_device_ids=true
  %tup = (f32[4,16]{1,0}, f32[16]{0}) all-reduce(%p, %p), channel_id=4, replica_groups=[1,8]<=[8], use_global_device_ids=true, to_apply=%add
  %cp = f32[4,16]{1,0} collective-permute(%p), channel_id=5, source_target_pairs={{0,1},{1,2},{2,3},{3,0}}
  %ar3 = f32[4,16]{1,0} all-reduce(%p), channel_id=6, replica_groups={{0,4},{1,5},{2,6},{3,7}}, use_global_device_ids=true, to_apply=%add
  %local = f32[1,16]{1,0} fusion(%ar3, %pid), kind=kLoop, calls=%fused_slice
  %use = f32[4,16]{1,0} add(%ar2, %p)
  ROOT %rs = f32[1,16]{1,0} fusion(%ar, %pid), kind=kLoop, calls=%fused_slice
}
"""


def test_find_collectives_kinds_axes_and_bytes():
    colls = find_collectives(HLO, MESH, AXES)
    summary = [(c.kind, c.axes, c.bytes) for c in colls]
    assert summary == [
        ("reduce-scatter", "y", 256),       # all-reduce over 4 read only through a dynamic-slice of 1/4
        ("all-reduce", "x", 256),
        ("all-gather", "x", 256),           # result bytes: bf16[8,16]
        ("all-reduce", "x,y", 256),         # tuple all-reduce, split per element
        ("all-reduce", "x,y", 64),
        ("collective-permute", "y", 256),
        ("all-reduce", "x", 256),           # over 2, sliced to 1/4: sliced along y too, a local slice
    ]
    assert colls[0].op_name == "jit(step)/dot_general"
    table = bytes_by_axis(colls)
    assert table["y"]["reduce_scatter_bytes"] == 256 and table["y"]["send_recv_bytes"] == 256
    assert table["x"] == {"all_reduce_bytes": 512, "all_gather_bytes": 256, "reduce_scatter_bytes": 0,
                          "all_to_all_bytes": 0, "send_recv_bytes": 0}


def test_compare_tolerance_and_missing_predictions():
    observed = {"x": {"all_reduce_bytes": 1000, "all_gather_bytes": 0}, "y": {"all_reduce_bytes": 50}}
    rows = compare({"x": {"all_reduce_bytes": 1040}}, observed, rtol=0.05)
    assert [(r.axes, r.key, r.ok) for r in rows] == [("x", "all_reduce_bytes", True), ("y", "all_reduce_bytes", False)]
    rows = compare({"x": {"all_reduce_bytes": 1100}}, {"x": {"all_reduce_bytes": 1000}}, rtol=0.05)
    assert not rows[0].ok and abs(rows[0].relative_error - 100 / 1100) < 1e-12


def test_permute_label_is_every_axis_its_pairs_cross():
    from shardplan_jax.collectives import permute_axes_label

    # Swapping the S halves of devices (x=0, y=1) and (x=1, y=0) on a 2 x 2 mesh; the others keep theirs.
    assert permute_axes_label([[0, 0], [1, 2], [2, 1], [3, 3]], [2, 2], ["x", "y"]) == "x,y"
    assert permute_axes_label([[0, 1], [1, 0]], [2, 2], ["x", "y"]) == "y"
    assert permute_axes_label([[0, 0]], [2, 2], ["x", "y"]) == "none"
