"""Reads `shardplan --emit torchtitan` job configs with torchtitan's own `ConfigManager` and checks that
the parsed `JobConfig` has the degrees (context and expert parallelism included), chunks, microbatch size,
recomputation (selective checkpointing with its option), ZeRO and loss parallelism of the plan, and that torchtitan's
`ParallelDims` accepts the degrees for the launch's world size.

torchtitan 0.2.2's config package (`torchtitan/config/`: `job_config.py`, `manager.py`) imports `torch` only
for dtype names and docstrings; the parser itself is dataclasses, `tomllib` and tyro. To run it without
PyTorch this script gives `torch` a stand-in module with those dtype names and imports `torchtitan.config`
without running `torchtitan/__init__.py` (which imports the model code), then takes the stand-in away
again. Everything that parses and validates the file is torchtitan's.

    python check_torchtitan.py SHARDPLAN_BINARY REPOSITORY_ROOT OUT_DIR
"""

import importlib.util
import logging
import pathlib
import re
import subprocess
import sys
import types


def load_config_manager():
    sys.modules["torch"] = types.SimpleNamespace(float16="float16", float32="float32", bfloat16="bfloat16")
    spec = importlib.util.find_spec("torchtitan")
    package = types.ModuleType("torchtitan")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules["torchtitan"] = package
    from torchtitan.config import ConfigManager

    # Out again, so that tyro (which special-cases torch types when torch is loaded) sees no torch.
    del sys.modules["torch"]
    return ConfigManager


def load_parallel_dims():
    """torchtitan's `ParallelDims` (distributed/parallel_dims.py), whose `__post_init__` validates the degrees
    against the world size. The module imports `DeviceMesh` and `init_device_mesh` (used only to build meshes,
    which this check does not) and `device_type` from `torchtitan.tools.utils` (which imports PyTorch): both are
    stood in while it loads."""
    # The package `load_config_manager` made (its __init__ not run).
    path = pathlib.Path(sys.modules["torchtitan"].__path__[0]) / "distributed" / "parallel_dims.py"
    stand_ins = {
        "torch": types.ModuleType("torch"),
        "torch.distributed": types.ModuleType("torch.distributed"),
        "torch.distributed.device_mesh": types.SimpleNamespace(DeviceMesh=object, init_device_mesh=None),
        "torchtitan.tools": types.ModuleType("torchtitan.tools"),
        "torchtitan.tools.utils": types.SimpleNamespace(device_type="cuda"),
        "torchtitan.tools.logging": types.SimpleNamespace(logger=logging.getLogger("torchtitan")),
    }
    saved = {name: sys.modules.get(name) for name in stand_ins}
    sys.modules.update(stand_ins)
    try:
        module_spec = importlib.util.spec_from_file_location("torchtitan_parallel_dims", path)
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous
    return module.ParallelDims


# (name, shardplan arguments, expected: tp, pp, dp, cp, ep, vp, mbs, recompute, zero, fp8 recipe; the loss
# vocabulary-parallel unless the case says otherwise)
CASES = [
    ("megatron-1.7b", ["score", "Models/megatron-1.7b.json", "--cluster", "dgx-a100-80g:4", "--tp", "1", "--pp", "1",
                       "--micro-batch-size", "16", "--recompute", "full"],
     dict(tp=1, pp=1, dp=32, cp=1, ep=1, vp=1, mbs=16, recompute="full", zero=0, fp8=None)),
    ("megatron-76.1b", ["score", "Models/megatron-76.1b.json", "--cluster", "dgx-a100-80g:128", "--tp", "8", "--pp", "4",
                        "--virtual-stages", "3", "--micro-batch-size", "2", "--recompute", "full"],
     dict(tp=8, pp=4, dp=32, cp=1, ep=1, vp=3, mbs=2, recompute="full", zero=2, fp8=None)),
    ("gpt3-175b-selective", ["score", "Models/gpt3-175b.json", "--cluster", "dgx-a100-80g:8", "--tp", "8", "--pp", "8",
                             "--virtual-stages", "3", "--sequence-parallel", "--recompute", "selective"],
     dict(tp=8, pp=8, dp=1, cp=1, ep=1, vp=3, mbs=1, recompute="selective op", zero=0, fp8=None)),
    # The first 16 of each stage's 32 blocks rerun: torchtitan's layer-level checkpointing of every second block.
    ("llama3-8b-blocks", ["score", "Models/llama3-8b.json", "--cluster", "dgx-a100-80g:8", "--tp", "1", "--pp", "1",
                          "--zero", "3", "--recompute", "full", "--recompute-blocks", "16"],
     dict(tp=1, pp=1, dp=64, cp=1, ep=1, vp=1, mbs=1, recompute="selective 2", zero=3, fp8=None)),
    ("gpt3-13b-zero3", ["score", "Models/gpt3-13b.json", "--cluster", "dgx-a100-80g:4", "--tp", "2", "--pp", "2",
                        "--sequence-parallel", "--zero", "3", "--micro-batch-size", "2"],
     dict(tp=2, pp=2, dp=8, cp=1, ep=1, vp=1, mbs=2, recompute="none", zero=3, fp8=None)),
    ("gpt3-1.3b-zero1", ["score", "Models/gpt3-1.3b.json", "--cluster", "dgx-a100-80g:2", "--tp", "1", "--pp", "1",
                         "--zero", "1", "--micro-batch-size", "4"],
     dict(tp=1, pp=1, dp=16, cp=1, ep=1, vp=1, mbs=4, recompute="none", zero=2, fp8=None)),
    ("gpt3-6.7b-fp8", ["score", "Models/gpt3-6.7b.json", "--cluster", "dgx-h100:2", "--tp", "2", "--pp", "2",
                       "--sequence-parallel", "--precision", "fp8", "--fp8-recipe", "rowwise"],
     dict(tp=2, pp=2, dp=4, cp=1, ep=1, vp=1, mbs=1, recompute="none", zero=2, fp8="rowwise")),
    # Priced with TransformerEngine's ring (the default exchange): torchtitan runs the all-to-all rotation, which hides
    # each step's transfer as that ring does.
    ("llama3-8b-cp2-fp8", ["score", "Models/llama3-8b.json", "--cluster", "dgx-h100:1", "--tp", "1", "--pp", "1", "--cp", "2",
                           "--zero", "1", "--recompute", "full", "--precision", "fp8"],
     dict(tp=1, pp=1, dp=4, cp=2, ep=1, vp=1, mbs=1, recompute="full", zero=2, fp8="tensorwise", rotate="alltoall")),
    # Priced with PyTorch's ring under its all-gather rotation, torchtitan's default: written as it is.
    ("llama3-8b-cp2-pytorch-ring", ["score", "Models/llama3-8b.json", "--cluster", "dgx-h100:1", "--tp", "1", "--pp", "1", "--cp", "2",
                                    "--cp-comm-type", "pytorch-ring", "--zero", "1", "--recompute", "full"],
     dict(tp=1, pp=1, dp=4, cp=2, ep=1, vp=1, mbs=1, recompute="full", zero=2, fp8=None, rotate="allgather")),
    ("qwen3-30b-a3b-ep8", ["score", "Models/qwen3-30b-a3b.json", "--cluster", "dgx-h100:1", "--tp", "1", "--pp", "1", "--ep", "8",
                           "--zero", "3", "--recompute", "full", "--micro-batch-size", "2"],
     dict(tp=1, pp=1, dp=8, cp=1, ep=8, vp=1, mbs=2, recompute="full", zero=3, fp8=None, ep_backend="standard")),
    ("moe-tiny-tp2-ep2", ["score", "Models/moe-tiny.json", "--cluster", "dgx-h100:1", "--tp", "2", "--pp", "1", "--ep", "2",
                          "--sequence-parallel", "--zero", "3"],
     dict(tp=2, pp=1, dp=4, cp=1, ep=2, vp=1, mbs=1, recompute="none", zero=3, fp8=None, ep_backend="standard")),
    # Whole experts, expert parallelism folded over the tensor-parallel ranks: expert_tensor_parallel_degree = 1.
    ("moe-tiny-tp2-ep4-etp1", ["score", "Models/moe-tiny.json", "--cluster", "dgx-h100:1", "--tp", "2", "--pp", "1", "--ep", "4",
                               "--etp", "1", "--sequence-parallel", "--zero", "3"],
     dict(tp=2, pp=1, dp=4, cp=1, ep=4, vp=1, mbs=1, recompute="none", zero=3, fp8=None, ep_backend="standard")),
    # Priced with DeepEP: torchtitan's deepep backend, which it runs only with whole experts (etp 1).
    ("moe-tiny-tp2-ep4-etp1-deepep", ["score", "Models/moe-tiny.json", "--cluster", "dgx-h100:1", "--tp", "2", "--pp", "1", "--ep", "4",
                                      "--etp", "1", "--sequence-parallel", "--zero", "3", "--moe-dispatcher", "deepep"],
     dict(tp=2, pp=1, dp=4, cp=1, ep=4, vp=1, mbs=1, recompute="none", zero=3, fp8=None, ep_backend="deepep")),
    # The loss over the whole logits on every tensor-parallel rank: torchtitan's disable_loss_parallel.
    ("llama3-8b-whole-loss", ["score", "Models/llama3-8b.json", "--cluster", "dgx-h100:1", "--tp", "2", "--pp", "1",
                              "--sequence-parallel", "--zero", "3", "--no-loss-parallel"],
     dict(tp=2, pp=1, dp=4, cp=1, ep=1, vp=1, mbs=1, recompute="none", zero=3, fp8=None, loss_parallel=False)),
    ("gpt-tiny-searched", ["plan", "Models/gpt-tiny.json", "--cluster", "dgx-a100-80g", "--stages", "2", "--mesh", "2x2",
                           "--microbatches", "2", "--no-megatron-grid"], None),
]


def check(config, expected, name, world_size, ParallelDims):
    p = config.parallelism
    dp = p.data_parallel_replicate_degree * p.data_parallel_shard_degree
    # torchtitan's own validation of the degrees against the launch's world size, and the expert mesh its
    # build_mesh cuts from the world ([pp, dp_replicate, efsdp, ep, etp], efsdp = dp_shard x cp x tp / (etp x ep)).
    ParallelDims(dp_replicate=p.data_parallel_replicate_degree, dp_shard=p.data_parallel_shard_degree,
                 cp=p.context_parallel_degree, tp=p.tensor_parallel_degree, pp=p.pipeline_parallel_degree,
                 ep=p.expert_parallel_degree, etp=p.expert_tensor_parallel_degree, world_size=world_size)
    # parallelize_llama applies DDP (replicas without FSDP) only where the replicas are the whole world.
    if p.data_parallel_replicate_degree > 1 and p.data_parallel_shard_degree * p.context_parallel_degree == 1:
        assert p.data_parallel_replicate_degree == world_size, f"{name}: DDP beside other parallelism"
    if p.expert_parallel_degree > 1:
        fsdp = p.data_parallel_shard_degree * p.context_parallel_degree * p.tensor_parallel_degree
        assert fsdp % (p.expert_tensor_parallel_degree * p.expert_parallel_degree) == 0, f"{name}: experts do not divide {fsdp}"
    parts = p.module_fqns_per_model_part
    vp = len(parts) // p.pipeline_parallel_degree if p.pipeline_parallel_degree > 1 else 1
    mbs = p.pipeline_parallel_microbatch_size if p.pipeline_parallel_degree > 1 else config.training.local_batch_size
    zero = 0 if p.data_parallel_shard_degree == 1 else (2 if p.fsdp_reshard_after_forward == "never" else 3)
    # Selective checkpointing with its option: op-level ("op") or every K-th block (a number).
    recompute = config.activation_checkpoint.mode
    if recompute == "selective":
        recompute += f" {config.activation_checkpoint.selective_ac_option}"
    found = dict(tp=p.tensor_parallel_degree, pp=p.pipeline_parallel_degree, dp=dp, cp=p.context_parallel_degree,
                 ep=p.expert_parallel_degree, vp=vp, mbs=mbs,
                 recompute=recompute, zero=zero,
                 fp8=config.quantize.linear.float8.recipe_name if "quantize.linear.float8" in config.model.converters else None,
                 loss_parallel=not p.disable_loss_parallel)
    # The rotation PyTorch's ring attention runs, which the plan prices (the settings write it with context parallelism).
    if p.context_parallel_degree > 1:
        found["rotate"] = p.context_parallel_rotate_method
    # The experts' backend priced (the settings write it with expert parallelism); torchtitan's DeepEP refuses etp > 1.
    if p.expert_parallel_degree > 1:
        found["ep_backend"] = p.expert_parallel_comm_backend
        assert p.expert_parallel_comm_backend != "deepep" or p.expert_tensor_parallel_degree == 1, f"{name}: DeepEP beside etp > 1"
    if p.pipeline_parallel_degree > 1:
        modules = [m for part in parts for m in part]
        layers = [m for m in modules if m.startswith("layers.")]
        assert modules[0] == "tok_embeddings" and modules[-2:] == ["norm", "output"], f"{name}: model parts {parts}"
        assert layers == [f"layers.{i}" for i in range(len(layers))], f"{name}: layers out of order"
    assert config.training.global_batch_size % (config.training.local_batch_size * dp) == 0, f"{name}: batch"
    if expected is not None:
        expected = {"loss_parallel": True, **expected}
        assert found == expected, f"{name}: torchtitan parsed {found}, the plan is {expected}"
    return found


def main():
    shardplan, root, out = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    ConfigManager = load_config_manager()
    ParallelDims = load_parallel_dims()
    # torchtitan logs to the root logger that the emitted files name no tokenizer; they leave [model] to the user.
    logging.getLogger().setLevel(logging.ERROR)
    for name, arguments, expected in CASES:
        path = out / f"{name}.toml"
        subprocess.run([shardplan, *arguments, "--emit", "torchtitan", "-o", str(path)], cwd=root, check=True)
        config = ConfigManager().parse_args(["--job.config_file", str(path)])
        launch = re.search(r"--nnodes=(\d+) --nproc-per-node=(\d+)", path.read_text())
        found = check(config, expected, name, int(launch.group(1)) * int(launch.group(2)), ParallelDims)
        print(f"torchtitan parsed {name}: {found}")
    # The parser refuses what torchtitan does not know, so the files above passed on their own merit.
    bogus = out / "unknown-key.toml"
    bogus.write_text(path.read_text().replace("[parallelism]", "[parallelism]\nmodel_parallel_degree = 2"))
    try:
        ConfigManager().parse_args(["--job.config_file", str(bogus)])
    except ValueError as error:
        print(f"torchtitan refused an unknown key: {str(error).splitlines()[0]}")
    else:
        raise AssertionError("torchtitan's ConfigManager accepted an unknown key")


if __name__ == "__main__":
    main()
