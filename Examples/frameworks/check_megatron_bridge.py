"""Runs `shardplan --emit megatron-bridge` settings through Megatron-Bridge itself: each emitted `apply_plan`
is called on a real recipe's `ConfigContainer` (Megatron-Bridge 0.3.1, Megatron-Core 0.16.1), then
`runtime_config_update` (what `pretrain()` runs before it initialises the process groups: the mixed-precision
preset, the data-parallel size from the world size, the communication overlap and `ConfigContainer.validate`)
and Megatron-Core's microbatch calculator, and the resolved configuration must hold the degrees, chunks,
pipeline split, microbatch size, batch, recomputation, ZeRO, overlap, precision and context-parallel exchange of the
settings' header.

Megatron-Bridge runs on CPU up to the point where `pretrain()` asks for CUDA; two things stand in below it:
- TransformerEngine and Triton, which Megatron-Bridge imports unconditionally (its LoRA layers and the Mamba
  mixer) but which need CUDA: empty stand-in modules, importable but without kernels. Megatron-Core is imported
  first, so it sees no TransformerEngine and configures itself without it (as on a machine without one).
- The recipes read their model's Hugging Face `config.json` from the Hub (`AutoBridge.from_hf_pretrained`),
  which this check does not reach: the recipes get Megatron-Bridge's own model providers of the same models.
- The mixture-of-experts recipes ask the GPU for its compute capability: they are told an H100's.
Everything that builds, updates and validates the configuration is Megatron-Bridge's and Megatron-Core's.

    python check_megatron_bridge.py SHARDPLAN_BINARY REPOSITORY_ROOT OUT_DIR
"""

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import pathlib
import re
import subprocess
import sys
import types
import warnings

# (name, shardplan arguments, the recipe the settings are applied to, what Megatron-Bridge must resolve)
CASES = [
    ("llama3-70b-tp4-pp8-vp5", ["score", "Models/llama3-70b.json", "--cluster", "dgx-h100:8", "--tp", "4", "--pp", "8",
                                "--virtual-stages", "5", "--sequence-parallel", "--recompute", "selective", "--zero", "1",
                                "--overlap-grad-reduce"],
     "llama3_70b", dict(tp=4, pp=8, dp=2, cp=1, ep=1, vp=5, mbs=1, recompute="selective", zero=1, fp8=None, overlap=True)),
    # Without the distributed optimizer Megatron-Bridge's overlap config never reaches the DDP config, on which the
    # recipe turns overlap on: the settings must turn it off there.
    ("llama3-8b-zero0", ["score", "Models/llama3-8b.json", "--cluster", "dgx-h100:2", "--tp", "4", "--pp", "2", "--zero", "0"],
     "llama3_8b", dict(tp=4, pp=2, dp=2, cp=1, ep=1, vp=1, mbs=1, recompute="none", zero=0, fp8=None, overlap=False)),
    ("llama3-8b-cp2-fp8", ["score", "Models/llama3-8b.json", "--cluster", "dgx-h100:1", "--tp", "1", "--pp", "1", "--cp", "2",
                           "--zero", "1", "--recompute", "full", "--precision", "fp8", "--fp8-params"],
     "llama3_8b", dict(tp=1, pp=1, dp=4, cp=2, ep=1, vp=1, mbs=1, recompute="full uniform 1", zero=1, fp8="delayed", overlap=False)),
    # Llama 3's exchange (and the one TransformerEngine runs sliding windows with): --cp-comm-type all_gather.
    ("llama3-8b-cp2-all-gather", ["score", "Models/llama3-8b.json", "--cluster", "dgx-h100:1", "--tp", "1", "--pp", "1", "--cp", "2",
                                  "--cp-comm-type", "all-gather", "--zero", "1", "--recompute", "full"],
     "llama3_8b", dict(tp=1, pp=1, dp=4, cp=2, ep=1, vp=1, mbs=1, recompute="full uniform 1", zero=1, fp8=None, overlap=False)),
    # DeepSpeed-Ulysses' exchange: --cp-comm-type a2a, with tp x cp dividing the 8 key/value heads.
    ("llama3-8b-cp2-all-to-all", ["score", "Models/llama3-8b.json", "--cluster", "dgx-h100:1", "--tp", "2", "--pp", "1", "--cp", "2",
                                  "--cp-comm-type", "a2a", "--zero", "1", "--recompute", "full", "--sequence-parallel"],
     "llama3_8b", dict(tp=2, pp=1, dp=2, cp=2, ep=1, vp=1, mbs=1, recompute="full uniform 1", zero=1, fp8=None, overlap=False)),
    # Hierarchical context parallelism: all-to-alls inside groups of 2, the ring between 2 of them (cp 4 = 2 x 2).
    ("llama3-8b-cp4-hierarchical", ["score", "Models/llama3-8b.json", "--cluster", "dgx-h100:2", "--tp", "1", "--pp", "1", "--cp", "4",
                               "--cp-comm-type", "a2a+p2p", "--zero", "1", "--recompute", "full"],
     "llama3_8b", dict(tp=1, pp=1, dp=4, cp=4, ep=1, vp=1, mbs=1, recompute="full uniform 1", zero=1, fp8=None, overlap=False)),
    # gpt-oss's attention sinks: TransformerEngine's context parallelism runs them only under a2a, which the settings
    # write over the recipe's own choice.
    ("gpt-oss-20b-cp2-sinks", ["score", "Models/gpt-oss-20b.json", "--cluster", "dgx-h100:2", "--tp", "1", "--pp", "1", "--cp", "2",
                               "--ep", "8", "--cp-comm-type", "a2a", "--zero", "1", "--recompute", "full"],
     "gpt_oss_20b", dict(tp=1, pp=1, dp=8, cp=2, ep=8, vp=1, mbs=1, recompute="full uniform 1", zero=1, fp8=None, overlap=False)),
    ("llama3-8b-fsdp", ["score", "Models/llama3-8b.json", "--cluster", "dgx-h100:2", "--tp", "1", "--pp", "1",
                        "--zero", "3", "--recompute", "full", "--recompute-blocks", "16", "--micro-batch-size", "2"],
     "llama3_8b", dict(tp=1, pp=1, dp=16, cp=1, ep=1, vp=1, mbs=2, recompute="full block 16", zero=3, fp8=None, overlap=False)),
    ("llama3-70b-blockwise", ["score", "Models/llama3-70b.json", "--cluster", "dgx-h100:8", "--tp", "8", "--pp", "2",
                              "--sequence-parallel", "--precision", "fp8", "--fp8-recipe", "blockwise", "--zero", "1",
                              "--recompute", "mlp"],
     "llama3_70b", dict(tp=8, pp=2, dp=4, cp=1, ep=1, vp=1, mbs=1, recompute="selective mlp,layernorm", zero=1,
                        fp8="blockwise", overlap=False)),
    # Megatron-Bridge's 405B recipe: the embedding and the loss counted as pipeline layers (126 + 2 over 8 x 8 chunks).
    ("llama3-405b-counted", ["score", "Models/llama3-405b.json", "--cluster", "dgx-h100:128", "--tp", "8", "--pp", "8",
                             "--virtual-stages", "8", "--sequence-parallel", "--cp", "2", "--zero", "1",
                             "--account-for-embedding-in-pipeline-split", "--account-for-loss-in-pipeline-split"],
     "llama31_405b", dict(tp=8, pp=8, dp=8, cp=2, ep=1, vp=8, mbs=1, recompute="none", zero=1, fp8=None, overlap=False)),
    ("qwen3-30b-a3b-ep8", ["score", "Models/qwen3-30b-a3b.json", "--cluster", "dgx-h100:2", "--tp", "1", "--pp", "1", "--ep", "8",
                           "--zero", "1", "--recompute", "full", "--micro-batch-size", "2"],
     "qwen3_30b_a3b", dict(tp=1, pp=1, dp=16, cp=1, ep=8, vp=1, mbs=2, recompute="full uniform 1", zero=1, fp8=None, overlap=False)),
    # The experts' all-to-alls beside another microbatch's compute (Megatron-Core's combined 1F1B schedule), which its
    # TransformerConfig takes only with the interleaved schedule beside pipelining and without full recomputation.
    ("qwen3-30b-a3b-ep8-overlap", ["score", "Models/qwen3-30b-a3b.json", "--cluster", "dgx-h100:4", "--tp", "1", "--pp", "2",
                                   "--virtual-stages", "2", "--ep", "8", "--zero", "1", "--recompute", "selective",
                                   "--overlap-moe-comm"],
     "qwen3_30b_a3b", dict(tp=1, pp=2, dp=16, cp=1, ep=8, vp=2, mbs=1, recompute="selective", zero=1, fp8=None, overlap=False)),
    # Whole experts with expert parallelism folded over the tensor-parallel ranks (MoE parallel folding, as the
    # Qwen3 recipes run them): ep 8 over tp 2 and 4 of the 8 data-parallel ranks, expert tensor parallelism 1.
    ("qwen3-30b-a3b-ep8-etp1", ["score", "Models/qwen3-30b-a3b.json", "--cluster", "dgx-h100:2", "--tp", "2", "--pp", "1", "--ep", "8",
                                "--etp", "1", "--sequence-parallel", "--zero", "1", "--recompute", "full"],
     "qwen3_30b_a3b", dict(tp=2, pp=1, dp=8, cp=1, ep=8, vp=1, mbs=1, recompute="full uniform 1", zero=1, fp8=None, overlap=False)),
    # Megatron-Core's output-discarding checkpoints of the norm before the experts and of their activation (norm-act),
    # which its TransformerConfig takes only beside the experts' grouped GEMM.
    ("qwen3-30b-a3b-ep16-norm-act", ["score", "Models/qwen3-30b-a3b.json", "--cluster", "dgx-h100:2", "--tp", "1", "--pp", "1",
                                     "--ep", "16", "--zero", "1", "--recompute", "norm-act"],
     "qwen3_30b_a3b", dict(tp=1, pp=1, dp=16, cp=1, ep=16, vp=1, mbs=1, recompute="selective layernorm,moe_act", zero=1, fp8=None, overlap=False)),
    # Priced with HybridEP's deduplicated dispatch across two nodes: Megatron-Core's flex dispatcher with that backend
    # (the other Qwen3 cases check that the recipe's own DeepEP, which it turns on for a Hopper GPU, is set back to
    # the all-to-all the plan prices).
    # A LoRA fine-tune (`shardplan models llama3-8b --lora-rank 16`, written to OUT_DIR first): its adapters are
    # Megatron-Bridge's CanonicalLoRA, set on the model's fine-tuning recipe.
    ("llama3-8b-lora16-tp2", ["score", "{out}/llama3-8b-lora16.json", "--cluster", "dgx-h100:2", "--tp", "2", "--pp", "1",
                              "--zero", "1", "--recompute", "selective"],
     "llama3_8b_peft", dict(tp=2, pp=1, dp=8, cp=1, ep=1, vp=1, mbs=1, recompute="selective", zero=1, fp8=None, overlap=False)),
    ("qwen3-30b-a3b-ep16-hybridep", ["score", "Models/qwen3-30b-a3b.json", "--cluster", "dgx-h100:2", "--tp", "1", "--pp", "1",
                                     "--ep", "16", "--zero", "1", "--recompute", "full", "--moe-dispatcher", "hybridep"],
     "qwen3_30b_a3b", dict(tp=1, pp=1, dp=16, cp=1, ep=16, vp=1, mbs=1, recompute="full uniform 1", zero=1, fp8=None, overlap=False)),
]


class StandInType(type):
    """A stand-in class whose every attribute is another stand-in class (`te.ops.Sequential` in an annotation)."""

    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return StandInType(name, (StandIn,), {})


class StandIn(metaclass=StandInType):
    """Builds and calls to nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return StandIn()


class StandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Empty modules for TransformerEngine and Triton, whose every attribute is a stand-in class."""

    roots = {"transformer_engine", "triton"}

    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] in self.roots:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []
        module.__getattr__ = lambda name: StandInType.__getattr__(StandIn, name)
        if spec.name == "transformer_engine":
            module.__version__ = "2.11.0"
        return module

    def exec_module(self, module):
        pass


def load_megatron_bridge():
    """Megatron-Bridge with the stand-ins, its recipes fed its own model providers; returns what the check calls."""
    import megatron.core  # noqa: F401 (first, without TransformerEngine)
    sys.meta_path.insert(0, StandIns())
    # Megatron-Core looked up TransformerEngine's fused RoPE and MoE permutation at import and found none; the
    # configuration's checks that `apply_rope_fusion` and `moe_permute_fusion` have kernels only ask whether one is there.
    from megatron.core.models.common.embeddings import rope_utils
    from megatron.core.transformer.moe import moe_utils
    kernels = {rope_utils: ["fused_apply_rotary_pos_emb", "fused_apply_rotary_pos_emb_thd"],
               moe_utils: ["fused_permute", "fused_permute_with_probs", "fused_sort_chunks_by_index",
                           "fused_sort_chunks_by_index_with_probs", "fused_unpermute"]}
    for module, names in kernels.items():
        for name in names:
            if getattr(module, name, None) is None:
                setattr(module, name, StandIn())

    # The mixture-of-experts recipes pick their token dispatcher from the GPU's compute capability: an H100's, the
    # GPU every case is planned on.
    import torch
    torch.cuda.get_device_properties = lambda device=0: types.SimpleNamespace(major=9, minor=0, name="NVIDIA H100 80GB HBM3")

    from megatron.bridge import AutoBridge
    from megatron.bridge.models.llama.llama_provider import (Llama3ModelProvider8B, Llama3ModelProvider70B,
                                                             Llama31ModelProvider405B)
    from megatron.bridge.models.qwen.qwen_provider import Qwen3MoEModelProvider30B_A3B
    from megatron.bridge.models.gpt_oss.gpt_oss_provider import GPTOSSProvider20B
    providers = {"meta-llama/Meta-Llama-3-8B": Llama3ModelProvider8B, "meta-llama/Meta-Llama-3-70B": Llama3ModelProvider70B,
                 "meta-llama/Meta-Llama-3.1-405B": Llama31ModelProvider405B, "Qwen/Qwen3-30B-A3B": Qwen3MoEModelProvider30B_A3B,
                 "openai/gpt-oss-20b": GPTOSSProvider20B}

    class OfflineBridge:
        def __init__(self, name):
            self.provider = providers[name]

        def to_megatron_provider(self, load_weights=False):
            return self.provider()

    AutoBridge.from_hf_pretrained = classmethod(lambda cls, name, *args, **kwargs: OfflineBridge(name))

    from megatron.bridge.recipes.llama import (llama3_8b_peft_config, llama3_8b_pretrain_config, llama3_70b_pretrain_config,
                                               llama31_405b_pretrain_config)
    from megatron.bridge.recipes.qwen import qwen3_30b_a3b_pretrain_config
    from megatron.bridge.recipes.gpt_oss.gpt_oss import gpt_oss_20b_pretrain_config
    from megatron.bridge.training.config import runtime_config_update
    from megatron.core import num_microbatches_calculator
    recipes = {"llama3_8b": llama3_8b_pretrain_config, "llama3_8b_peft": llama3_8b_peft_config, "llama3_70b": llama3_70b_pretrain_config,
               "llama31_405b": llama31_405b_pretrain_config, "qwen3_30b_a3b": qwen3_30b_a3b_pretrain_config,
               "gpt_oss_20b": gpt_oss_20b_pretrain_config}
    return recipes, runtime_config_update, num_microbatches_calculator


def header_layout(text):
    """The layout the settings' first line gives: `tp=4 pp=4 dp=4 mbs=1 vp=5 sp recompute=selective`."""
    first = text.splitlines()[0]
    degrees = {key: int(value) for key, value in re.findall(r"\b(tp|pp|dp|cp|ep|vp|mbs)=(\d+)", first)}
    return dict(tp=degrees["tp"], pp=degrees["pp"], dp=degrees["dp"], cp=degrees.get("cp", 1), ep=degrees.get("ep", 1),
                vp=degrees.get("vp", 1), mbs=degrees["mbs"], sp=" sp " in first)


def resolved(cfg, microbatches):
    """What Megatron-Bridge will run, read from the updated configuration."""
    m = cfg.model
    if m.recompute_granularity == "full":
        recompute = f"full {m.recompute_method} {m.recompute_num_layers}"
    elif m.recompute_granularity == "selective":
        recompute = "selective" if m.recompute_modules in (None, ["core_attn"]) else "selective " + ",".join(m.recompute_modules)
    else:
        recompute = "none"
    zero = 0
    if cfg.ddp.use_distributed_optimizer:
        zero = {"optim_grads": 2, "optim_grads_params": 3}.get(cfg.ddp.data_parallel_sharding_strategy, 1) if cfg.ddp.use_megatron_fsdp else 1
    return dict(tp=m.tensor_model_parallel_size, pp=m.pipeline_model_parallel_size, dp=cfg.data_parallel_size,
                cp=m.context_parallel_size, ep=m.expert_model_parallel_size, vp=m.virtual_pipeline_model_parallel_size or 1,
                mbs=cfg.train.micro_batch_size, recompute=recompute, zero=zero, fp8=m.fp8_recipe if m.fp8 else None,
                overlap=cfg.ddp.overlap_grad_reduce, microbatches=microbatches)


def expert_tensor_parallelism(cfg, text):
    """Megatron-Core's expert tensor-parallel degree: 1 where the settings' header says `etp=1` (whole experts, expert
    parallelism folded over the tensor-parallel ranks), else the tensor-parallel one."""
    wanted = 1 if " etp=1" in text.splitlines()[0] else cfg.model.tensor_model_parallel_size
    assert cfg.model.expert_tensor_parallel_size == wanted, \
        f"expert tensor parallelism {cfg.model.expert_tensor_parallel_size}, the settings say {wanted}"
    return cfg.model.expert_tensor_parallel_size


def main():
    shardplan, root, out = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    out.mkdir(parents=True, exist_ok=True)
    os.environ["HF_HUB_OFFLINE"] = "1"
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    recipes, runtime_config_update, calculator = load_megatron_bridge()
    import torch
    with open(out / "llama3-8b-lora16.json", "w") as graph:
        subprocess.run([shardplan, "models", "llama3-8b", "--lora-rank", "16"], cwd=root, check=True, stdout=graph)
    for name, arguments, recipe, expected in CASES:
        path = out / f"{name}.py"
        arguments = [argument.replace("{out}", str(out)) for argument in arguments]
        subprocess.run([shardplan, *arguments, "--emit", "megatron-bridge", "-o", str(path)], cwd=root, check=True)
        text = path.read_text()
        launch = re.search(r"^#\s+(CUDA_DEVICE_MAX_CONNECTIONS=1 )?torchrun --nnodes=(\d+) --nproc-per-node=(\d+) (?:pretrain|finetune)\.py$", text,
                           re.MULTILINE)
        os.environ["WORLD_SIZE"] = str(int(launch.group(2)) * int(launch.group(3)))
        spec = importlib.util.spec_from_file_location(name.replace("-", "_").replace(".", "_"), path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        cfg = module.apply_plan(recipes[recipe]())
        # The settings' adapters, as the header names them; a fine-tune starts from a checkpoint, which the
        # configuration's validation asks for (none is read here).
        adapters = re.search(r"Megatron-Bridge's (\w+) on ([\w, ]+) \(cfg\.peft below\)", text)
        if adapters:
            assert type(cfg.peft).__name__ == adapters.group(1), f"{name}: cfg.peft is {type(cfg.peft).__name__}"
            assert list(cfg.peft.target_modules) == adapters.group(2).split(", "), f"{name}: adapted {cfg.peft.target_modules}"
            assert cfg.peft.dim == int(re.search(r"rank (\d+)", text).group(1)), f"{name}: rank {cfg.peft.dim}"
            cfg.checkpoint.pretrained_checkpoint = str(out / "pretrained")
        runtime_config_update(cfg)
        # Megatron-Core's check that the global batch divides into microbatches of every data-parallel replica.
        calculator.destroy_num_microbatches_calculator()
        calculator.init_num_microbatches_calculator(0, None, cfg.train.global_batch_size, cfg.train.micro_batch_size,
                                                    cfg.data_parallel_size)
        found = resolved(cfg, calculator.get_num_microbatches())
        header = header_layout(text)
        for key in ("tp", "pp", "dp", "cp", "ep", "vp", "mbs"):
            assert found[key] == header[key], f"{name}: Megatron-Bridge resolved {key}={found[key]}, the settings say {header[key]}"
        assert cfg.model.sequence_parallel == header["sp"], f"{name}: sequence parallelism"
        # The header names the exchange where it is not the ring (`cp-comm=all-to-all`); Megatron-Core's names for it.
        named = re.search(r" cp-comm=(\S+)", text.splitlines()[0])
        exchange = {"all-gather": "all_gather", "all-to-all": "a2a", "a2a+p2p": "a2a+p2p"}.get(named.group(1), "p2p") if named else "p2p"
        assert cfg.model.cp_comm_type == exchange, f"{name}: context-parallel exchange {cfg.model.cp_comm_type}, the settings say {exchange}"
        # Hierarchical context parallelism's groups (`cp-a2a=A`): A ranks in each all-to-all group, cp / A in the ring.
        group = re.search(r" cp-a2a=(\d+)", text.splitlines()[0])
        if group:
            sizes = [int(group.group(1)), found["cp"] // int(group.group(1))]
            assert list(cfg.model.hierarchical_context_parallel_sizes) == sizes, \
                f"{name}: hierarchical sizes {cfg.model.hierarchical_context_parallel_sizes}, the settings say {sizes}"
        # The header says `ep-overlap` where the experts' all-to-alls overlap another microbatch's compute.
        overlaps_experts = " ep-overlap" in text.splitlines()[0]
        assert bool(getattr(cfg.model, "overlap_moe_expert_parallel_comm", False)) == overlaps_experts, \
            f"{name}: the experts' all-to-all overlap is {getattr(cfg.model, 'overlap_moe_expert_parallel_comm', None)}, the settings say {overlaps_experts}"
        # The header names the experts' dispatcher where it is not NCCL's all-to-all (` deepep`, ` hybridep`), which
        # Megatron-Core runs as its flex dispatcher with that backend.
        if found["ep"] > 1:
            dispatcher = re.search(r" (deepep|hybridep)\b", text.splitlines()[0])
            wanted = ("flex", dispatcher.group(1)) if dispatcher else ("alltoall", None)
            got = (cfg.model.moe_token_dispatcher_type,
                   cfg.model.moe_flex_dispatcher_backend if cfg.model.moe_token_dispatcher_type == "flex" else None)
            assert got == wanted, f"{name}: the experts' dispatcher is {got}, the settings say {wanted}"
            assert got[0] != "flex" or not cfg.model.moe_shared_expert_overlap, f"{name}: the flex dispatcher beside the shared experts' overlap"
            assert cfg.model.moe_grouped_gemm, f"{name}: the experts as one grouped GEMM, as priced"
        assert found["microbatches"] * found["mbs"] * found["dp"] == cfg.train.global_batch_size, f"{name}: batch"
        # Adam's state as priced (fp32 master weights and moments) and no module the graph lacks (multi-token prediction).
        assert not cfg.optimizer.use_precision_aware_optimizer, f"{name}: the precision-aware optimizer"
        optimizer_dtypes = (cfg.optimizer.main_params_dtype, cfg.optimizer.main_grads_dtype, cfg.optimizer.exp_avg_dtype,
                            cfg.optimizer.exp_avg_sq_dtype)
        assert optimizer_dtypes == (torch.float32,) * 4, f"{name}: Adam's state is {optimizer_dtypes}, not fp32"
        assert not cfg.model.mtp_num_layers, f"{name}: {cfg.model.mtp_num_layers} multi-token-prediction layers"
        assert cfg.model.seq_length == cfg.dataset.seq_length, f"{name}: sequence length"
        # Megatron-FSDP asks for more than one CUDA work queue; tensor and context parallelism for one.
        if cfg.ddp.use_megatron_fsdp:
            assert launch.group(1) is None, f"{name}: Megatron-FSDP with CUDA_DEVICE_MAX_CONNECTIONS=1"
        elif found["tp"] > 1 or found["cp"] > 1:
            assert launch.group(1) is not None, f"{name}: tensor or context parallelism without CUDA_DEVICE_MAX_CONNECTIONS=1"
        found_plan = {key: value for key, value in found.items() if key != "microbatches"}
        assert found_plan == expected, f"{name}: Megatron-Bridge resolved {found_plan}, the plan is {expected}"
        print(f"Megatron-Bridge resolved {name}: {found}, fp8 weights {bool(cfg.model.fp8_param)}, "
              f"gradient reduction in fp32 {cfg.ddp.grad_reduce_in_fp32}, expert tensor parallelism {expert_tensor_parallelism(cfg, text)}")
    # Megatron-Bridge refuses what it does not run, so the configurations above passed on their own merit: the first
    # case's 64 processes with a tensor-parallel degree of 3.
    first = (out / f"{CASES[0][0]}.py").read_text()
    refused = out / "refused.py"
    refused.write_text(first.replace("cfg.model.tensor_model_parallel_size = 4", "cfg.model.tensor_model_parallel_size = 3"))
    os.environ["WORLD_SIZE"] = "64"
    spec = importlib.util.spec_from_file_location("refused", refused)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        runtime_config_update(module.apply_plan(recipes[CASES[0][2]]()))
    except (AssertionError, ValueError) as error:
        print(f"Megatron-Bridge refused a layout it cannot run: {str(error).strip().splitlines()[0]}")
    else:
        raise AssertionError("Megatron-Bridge accepted a tensor-parallel degree that does not divide the world")

if __name__ == "__main__":
    main()
