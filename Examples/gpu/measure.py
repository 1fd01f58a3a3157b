"""Measure what ShardPlan's cost model predicts, on the GPU this runs on, and write it in the files
`shardplan calibrate` replays.

Two measurements (issue 14's device checks), each written as it finishes:

- attention.json: one fused attention call (PyTorch SDPA with a named backend) forward and backward, at 1K to
  64K tokens, head dimensions 64 and 128, causal and not; `{"attention_measurements": [...]}`.
- steps.json: whole single-GPU training steps of GPT models from 125M to 2.7B parameters (each block compiled
  with torch.compile, bf16 autocast, fused AdamW, padded vocabulary), one row per model and batch; `{"rows": [...]}` in the format of
  Docs/calibration/published-runs.json, with the step time, the peak reserved and allocated memory, and from a
  profile the time the GPU itself was busy (`gpu_busy_s`) and the kernels a step launches (`launches`).

    python Examples/gpu/measure.py --out OUT            # everything, about 6 minutes on an H100
    python Examples/gpu/measure.py --out OUT --quick    # fewer shapes and models, about 2 minutes
    shardplan calibrate OUT/attention.json -o Docs/calibration/attention-h200.md
    shardplan calibrate OUT/steps.json -o Docs/calibration/single-gpu-steps-h200.md

`--cpu-smoke` runs the same code on the CPU with tiny shapes and no compilation, to check the files' format
(Examples/gpu/check.sh): its times are not measurements of anything the model prices.
"""

import argparse
import gc
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

# SDPA backends and the names ShardPlan's `--attention-kernel` gives the same kernels.
BACKENDS = {"flash2": SDPBackend.FLASH_ATTENTION, "cudnn": SDPBackend.CUDNN_ATTENTION}

# GPT models as ShardPlan's catalog builds them (TransformerConfiguration.gpt): learned positions, pre-norm
# blocks with biases, a 4h GELU MLP, tied embeddings. (name, layers, hidden, heads, sequence length).
MODELS = [
    ("gpt-125m", 12, 768, 12, 1024),
    ("gpt-350m", 24, 1024, 16, 1024),
    ("gpt-760m", 24, 1536, 16, 2048),
    ("gpt-1.3b", 24, 2048, 16, 2048),
    ("gpt-2.7b", 32, 2560, 32, 2048),
]
VOCABULARY = 50304  # GPT-2's 50257 padded to a multiple of 128, as nanoGPT and Megatron-LM do.


def gpu_label(device):
    """The GPU as the published-runs rows name it, so that `shardplan calibrate` finds its preset."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    if "H200" in name:
        return "H200-SXM-141GB"
    if "H100" in name:
        return "H100-SXM5-80GB"
    if "A100" in name and torch.cuda.get_device_properties(device).total_memory > 60 * 2**30:
        return "A100-SXM4-80GB"
    return None


def software(device):
    parts = [f"torch {torch.__version__}"]
    if device.type == "cuda":
        parts += [f"CUDA {torch.version.cuda}", f"cuDNN {torch.backends.cudnn.version()}",
                  torch.cuda.get_device_name(device)]
    return ", ".join(parts)


def timed(device, run, budget_seconds, least=3, most=50):
    """Median seconds of `run()` after two warm-up calls: as many calls as fit `budget_seconds`, `least` to
    `most`. On a GPU each call is bracketed by CUDA events; `run` may return an event pair (start, end) to time
    a part of itself instead."""
    def once():
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            inner = run()
            end.record()
            torch.cuda.synchronize(device)
            if inner is not None:
                return inner[0].elapsed_time(inner[1]) / 1e3
            return start.elapsed_time(end) / 1e3
        began = time.perf_counter()
        inner = run()
        return time.perf_counter() - began if inner is None else inner
    for _ in range(2):
        once()
    first = once()
    count = max(least, min(most, int(budget_seconds / max(first, 1e-6))))
    samples = sorted([first] + [once() for _ in range(count - 1)])
    return samples[len(samples) // 2]


def gpu_busy(device, run, calls=3):
    """Seconds a call of `run` keeps the GPU busy (the union of its kernels' and copies' spans in a profile of
    `calls` calls, so that work on two streams at once counts once) and how many kernels and copies it launches.
    Against the CUDA-event time of the same call, the difference is time the GPU waited for the host. None where
    the profile holds no GPU activity (a profiler that cannot trace the GPU warns and records the CPU alone): a
    busy time of 0 would be written as a measurement, which `shardplan calibrate` refuses."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as profiled:
        for _ in range(calls):
            run()
        torch.cuda.synchronize(device)
    spans = sorted((event.time_range.start, event.time_range.end) for event in profiled.events()
                   if event.device_type == torch.autograd.DeviceType.CUDA)
    if not spans:
        return None
    busy, reached = 0.0, -math.inf
    for start, end in spans:
        if end > reached:
            busy += end - max(start, reached)
            reached = end
    return busy / calls / 1e6, len(spans) / calls


def host_seconds_per_launch(device, launches=2000):
    """Host seconds one PyTorch op on a one-element GPU tensor takes: the floor under a step whose kernels are
    shorter than their launches."""
    tensor = torch.zeros(1, device=device)
    for _ in range(100):
        tensor.add_(1)
    torch.cuda.synchronize(device)
    began = time.perf_counter()
    for _ in range(launches):
        tensor.add_(1)
    torch.cuda.synchronize(device)
    return (time.perf_counter() - began) / launches


def attention_rows(device, label, quick, smoke, budget, save):
    """Forward and backward of one SDPA call per shape and backend, as `attention_measurements` rows; `save` is
    called with the rows so far after each one."""
    if smoke:
        lengths, dims, kernels = [64, 128], [16], ["flash2"]
    else:
        lengths = [1024, 4096, 16384, 65536] if quick else [1024, 2048, 4096, 8192, 16384, 32768, 65536]
        dims = [128] if quick else [64, 128]
        kernels = [k for k in BACKENDS if device.type == "cuda"]
    dtype = torch.float32 if smoke else torch.bfloat16
    rows = []
    for kernel in kernels:
        for dim in dims:
            heads = 2 if smoke else 2048 // dim
            for length in lengths:
                batch = max(1, (256 if smoke else 65536) // length)
                for causal in [True, False]:
                    shape = (batch, heads, length, dim)
                    q, k, v = (torch.randn(shape, device=device, dtype=dtype, requires_grad=True) for _ in range(3))
                    grad = torch.randn(shape, device=device, dtype=dtype)
                    backend = SDPBackend.MATH if smoke else BACKENDS[kernel]

                    def forward():
                        with sdpa_kernel([backend]):
                            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

                    def forward_only():
                        with torch.no_grad():
                            forward()

                    def backward():
                        # Fresh gradients each call: accumulating into the last call's would add three adds.
                        for tensor in (q, k, v):
                            tensor.grad = None
                        out = forward()
                        if device.type == "cuda":
                            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                            start.record()
                            out.backward(grad)
                            end.record()
                            return start, end
                        began = time.perf_counter()
                        out.backward(grad)
                        return time.perf_counter() - began

                    try:
                        forward_seconds = timed(device, forward_only, budget)
                        backward_seconds = timed(device, backward, budget)
                    except RuntimeError as error:  # the backend does not take this shape, or memory ran out
                        print(f"  skipped {kernel} {shape} causal={causal}: {str(error).splitlines()[0]}", file=sys.stderr)
                        continue
                    finally:
                        q = k = v = grad = None
                        if device.type == "cuda":
                            torch.cuda.empty_cache()
                    row_id = f"{(label or 'cpu').split('-')[0].lower()}-{kernel}-b{batch}-h{heads}-s{length}-d{dim}-{'causal' if causal else 'full'}"
                    rows.append({
                        "id": row_id, "source": f"Examples/gpu/measure.py ({software(device)})",
                        "gpu": label or "H100-SXM5-80GB", "kernel": kernel, "batch": batch, "heads": heads,
                        "head_dim": dim, "seq_len": length, "causal": causal,
                        "forward_ms": forward_seconds * 1e3, "backward_ms": backward_seconds * 1e3,
                        "notes": "median of CUDA-event timings; forward without autograd, backward alone after an untimed forward"
                        + ("; CPU smoke run, not a measurement" if smoke else ""),
                    })
                    print(f"  {row_id}: forward {forward_seconds * 1e3:.3f} ms, backward {backward_seconds * 1e3:.3f} ms", file=sys.stderr)
                    save(rows)
    return rows


class Block(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(hidden), nn.LayerNorm(hidden)
        self.qkv, self.proj = nn.Linear(hidden, 3 * hidden), nn.Linear(hidden, hidden)
        self.up, self.down = nn.Linear(hidden, 4 * hidden), nn.Linear(4 * hidden, hidden)

    def forward(self, x):
        batch, length, hidden = x.shape
        q, k, v = self.qkv(self.norm1(x)).split(hidden, dim=2)
        q, k, v = (t.view(batch, length, self.heads, hidden // self.heads).transpose(1, 2) for t in (q, k, v))
        attended = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(batch, length, hidden)
        x = x + self.proj(attended)
        return x + self.down(F.gelu(self.up(self.norm2(x)), approximate="tanh"))


class GPT(nn.Module):
    def __init__(self, layers, hidden, heads, length):
        super().__init__()
        self.tokens, self.positions = nn.Embedding(VOCABULARY, hidden), nn.Embedding(length, hidden)
        self.blocks = nn.ModuleList(Block(hidden, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(hidden)

    def forward(self, ids, targets):
        x = self.tokens(ids) + self.positions(torch.arange(ids.shape[1], device=ids.device))
        for block in self.blocks:
            x = block(x)
        logits = F.linear(self.norm(x), self.tokens.weight)  # tied output layer
        return F.cross_entropy(logits.float().view(-1, VOCABULARY), targets.view(-1))


def step_rows(device, label, quick, smoke, budget, save):
    """Whole training steps, as published-runs rows; `save` is called with the rows so far after each one."""
    if smoke:
        models, batches = [("gpt-tiny", 2, 64, 2, 32)], [1, 2]
    else:
        models = MODELS[:1] + MODELS[3:4] if quick else MODELS
        batches = [1, 8] if quick else [1, 4, 16]
    rows = []
    for name, layers, hidden, heads, length in models:
        if not smoke:
            # Every model's blocks share one forward function, so Dynamo's per-function cache of compiled graphs
            # would fill up over the models (and later ones run eager without a word); a fresh cache each model.
            torch._dynamo.reset()
        for batch in batches:
            # The last model and its optimizer sit in reference cycles (compiled modules, autograd hooks) that only
            # the cyclic collector frees: without a collection here its 16 bytes a parameter can still be alive,
            # and in this step's peak.
            gc.collect()
            if device.type == "cuda":
                torch.cuda.empty_cache()
            torch.manual_seed(0)
            model = GPT(layers, hidden, heads, length).to(device)
            parameters = sum(p.numel() for p in model.parameters())
            optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=device.type == "cuda")
            if not smoke:
                # Regional compilation: each block compiled on its own, so that identical blocks share one
                # compiled graph and a model compiles in seconds; the embeddings and the loss run eager.
                for block in model.blocks:
                    block.compile()
            ids = torch.randint(VOCABULARY, (batch, length), device=device)
            targets = torch.randint(VOCABULARY, (batch, length), device=device)
            backend = SDPBackend.MATH if smoke else BACKENDS["flash2"]

            def step():
                optimizer.zero_grad(set_to_none=True)
                with sdpa_kernel([backend]), torch.autocast(device.type, dtype=torch.bfloat16, enabled=not smoke):
                    loss = model(ids, targets)
                loss.backward()
                optimizer.step()

            try:
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                seconds = timed(device, step, budget, least=5)
                reserved = torch.cuda.max_memory_reserved(device) / 2**30 if device.type == "cuda" else None
                allocated = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
                busy = None
                if device.type == "cuda":
                    try:
                        busy = gpu_busy(device, step)
                    except RuntimeError as error:  # a machine whose profiler cannot trace the GPU
                        print(f"  no profile of {name} batch {batch}: {str(error).splitlines()[0]}", file=sys.stderr)
                    else:
                        if busy is None:
                            print(f"  no GPU activity in the profile of {name} batch {batch}", file=sys.stderr)
            except torch.OutOfMemoryError:
                print(f"  skipped {name} batch {batch}: out of memory", file=sys.stderr)
                continue
            finally:
                del model, optimizer
                if device.type == "cuda":
                    torch.cuda.empty_cache()
            measured = {"iteration_time_s": seconds}
            if reserved is not None:
                measured["memory_gib"] = round(reserved, 3)
                measured["max_allocated_mib"] = round(allocated, 1)
            if busy is not None:
                measured["gpu_busy_s"], measured["launches"] = busy[0], round(busy[1])
            rows.append({
                "id": f"{(label or 'cpu').split('-')[0].lower()}-{name}-b{batch}-s{length}",
                "group": f"Single-GPU training steps measured by Examples/gpu/measure.py on {label or 'the CPU'}",
                "source": f"Examples/gpu/measure.py ({software(device)})",
                "model": name, "params_B": round(parameters / 1e9, 4), "layers": layers, "hidden": hidden,
                "heads": heads, "kv_heads": heads, "ffn_hidden": 4 * hidden, "vocab": VOCABULARY, "seq_len": length,
                "global_batch": batch, "micro_batch": batch, "gpu": label or "H100-SXM5-80GB", "n_gpus": 1,
                "gpus_per_node": 1, "cluster": "one GPU", "tp": 1, "pp": 1, "dp": 1, "cp": 1, "ep": 1,
                "virtual_stages": 1, "sequence_parallel": False, "zero_stage": 0, "recompute": "none",
                "precision": "bf16 autocast (fp32 weights)", "optimizer_state": "fp32-weights",
                "schedule": "one GPU; torch.compile of each block (embeddings and loss eager); SDPA flash backend; fused torch.optim.AdamW; one synchronisation per step",
                "measured": measured, "flops_convention": "-", "derived": {},
                "confidence": "high (measured here: median of CUDA-event step times after warm-up)"
                + ("; CPU smoke run, not a measurement" if smoke else ""),
                "notes": "memory_gib is torch.cuda.max_memory_reserved, max_allocated_mib torch.cuda.max_memory_allocated; "
                "gpu_busy_s the union of the step's kernel and copy spans in a profile of three steps (the GPU's own work, "
                "without waits for the host), launches its kernels and copies", "architecture": "gpt", "attention": "flash2",
                "dropout": 0.0, "fusion": "compiled", "loss": "eager",
            })
            print(f"  {rows[-1]['id']}: {seconds * 1e3:.2f} ms a step"
                  + (f", GPU busy {busy[0] * 1e3:.2f} ms, {busy[1]:.0f} launches" if busy else ""), file=sys.stderr)
            save(rows)
    return rows


def writer(path, key, description):
    """A function that replaces the file at `path` with the rows it is given, atomically: a run stopped part-way
    (a device machine's time limit, say) leaves every row measured so far in a whole file."""
    def write(rows):
        with open(path + ".tmp", "w") as handle:
            json.dump({"description": description, key: rows}, handle, indent=1)
            handle.write("\n")
        os.replace(path + ".tmp", path)
    return write


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder for attention.json and steps.json")
    parser.add_argument("--quick", action="store_true", help="fewer shapes and models")
    parser.add_argument("--cpu-smoke", action="store_true", help="tiny shapes on the CPU, to check the files' format")
    parser.add_argument("--only", choices=["attention", "steps"], help="one of the two measurements")
    parser.add_argument("--budget", type=float, default=0.3, help="seconds of timed calls per shape (default 0.3)")
    args = parser.parse_args()
    smoke = args.cpu_smoke
    if not smoke and not torch.cuda.is_available():
        parser.error("no CUDA device; --cpu-smoke checks the format on the CPU")
    device = torch.device("cpu" if smoke else "cuda")
    label = gpu_label(device)
    if not smoke and label is None:
        parser.error(f"{torch.cuda.get_device_name(device)} has no single-GPU preset in shardplan (A100 80GB, H100, H200)")
    if not smoke:
        torch.backends.cuda.matmul.allow_tf32 = True
    os.makedirs(args.out, exist_ok=True)
    began = time.time()
    if args.only in (None, "attention"):
        path = os.path.join(args.out, "attention.json")
        save = writer(path, "attention_measurements",
                      f"Fused attention forward and backward measured by Examples/gpu/measure.py ({software(device)})")
        rows = attention_rows(device, label, args.quick, smoke, args.budget, save)
        save(rows)
        print(f"wrote {len(rows)} rows to {path}", file=sys.stderr)
    if args.only in (None, "steps"):
        path = os.path.join(args.out, "steps.json")
        description = f"Single-GPU GPT training steps measured by Examples/gpu/measure.py ({software(device)})"
        if not smoke:
            launch = host_seconds_per_launch(device)
            description += f"; one PyTorch op on a one-element tensor takes {launch * 1e6:.1f} us of host time here"
            print(f"  host time of one op: {launch * 1e6:.1f} us", file=sys.stderr)
        save = writer(path, "rows", description)
        rows = step_rows(device, label, args.quick, smoke, args.budget, save)
        save(rows)
        print(f"wrote {len(rows)} rows to {path}", file=sys.stderr)
    print(f"done in {time.time() - began:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
