"""ATen ops to catalog ops: each family on a small module, read back by `shardplan inspect` (which checks
every shape and dtype the exporter states against its own inference), and the errors for what the catalog
cannot express."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from shardplan_torch.export import ExportError, default_layer, export_graph
from shardplan_torch.graph_io import dumps_graph

from graph_eval import evaluate


def ops_of(graph):
    return [op["op"] for op in graph["ops"]]


def by_op(graph, kind):
    return [op for op in graph["ops"] if op["op"] == kind]


class Function(nn.Module):
    """A module whose forward is `function(*inputs)`, with optional parameters `w` and `b`."""

    def __init__(self, function, **parameters):
        super().__init__()
        self.function = function
        for name, shape in parameters.items():
            self.register_parameter(name, nn.Parameter(torch.randn(*shape)))

    def forward(self, *inputs):
        return self.function(self, *inputs)


def export(function, *inputs, **parameters):
    return export_graph(Function(function, **parameters), inputs, name="test")


def test_linear_is_one_einsum_over_the_weight_as_stored_plus_bias(shardplan):
    graph = export(lambda m, x: F.linear(x, m.w, m.b).sum(), torch.randn(2, 5, 3), w=(4, 3), b=(4,))
    assert graph["parameters"] == [{"name": "w", "shape": [4, 3], "dtype": "f32"},
                                   {"name": "b", "shape": [4], "dtype": "f32"}]
    assert graph["inputs"] == [{"name": "inputs_0", "shape": [2, 5, 3], "dtype": "f32", "batch_dim": 0}]
    einsum, bias, total = graph["ops"]
    assert (einsum["op"], einsum["equation"], einsum["inputs"]) == ("einsum", "abk,nk->abn", ["inputs_0", "w"])
    assert (bias["op"], bias["inputs"]) == ("add", [einsum["name"], "b"])
    assert total["op"] == "reduce" and total["axes"] == [0, 1, 2] and graph["outputs"] == ["loss"] == [total["name"]]
    analysis = shardplan.inspect(graph)
    assert analysis["parameters"]["count"] == 16
    # 2 x 5 x 3 x 4 multiply-adds, 40 bias adds, 40 elements summed.
    assert analysis["flops"]["forward"] == 2 * 2 * 5 * 3 * 4 + 40 + 40


def test_contractions(shardplan):
    def forward(m, a, b):
        y = torch.matmul(a, m.w) + torch.addmm(m.b, a[0], m.w)
        z = torch.bmm(a, b) @ m.w
        return (torch.einsum("bij,jk->bik", y, m.v) + torch.einsum("bij,jk->bik", z, m.v)).mean()
    graph = export(forward, torch.randn(2, 3, 4), torch.randn(2, 4, 4), w=(4, 5), b=(5,), v=(5, 6))
    assert ops_of(graph).count("matmul") == 4 and ops_of(graph).count("einsum") == 2
    shardplan.inspect(graph)


def test_elementwise_family(shardplan):
    def forward(m, x, y):
        a = torch.exp(x) + torch.log(x.abs() + 1) - torch.tanh(x) * torch.sigmoid(x) / torch.rsqrt(x.abs() + 1)
        a = torch.maximum(a, torch.sqrt(x.abs())) + torch.minimum(-x, torch.erf(x)) + x ** 2 + x.abs() ** 3
        a = F.relu(a) + F.silu(a) + F.gelu(a) + F.gelu(a, approximate="tanh") + torch.reciprocal(a.abs() + 1)
        a = a.clamp(-1, 1) + torch.where(x > y, x, y) + x.masked_fill(x < 0, 0.5) + torch.log1p(x.abs())
        a = a * 3 + a / 4 - 2 + torch.expm1(x) + (1 - x) + (x >= 0).float() + torch.logical_not(x < y).to(x.dtype)
        return a.mean()
    graph = export(forward, torch.randn(4, 8), torch.randn(4, 8))
    kinds = set(ops_of(graph))
    for kind in ("exp", "log", "sub", "mul", "div", "tanh", "sigmoid", "rsqrt", "max", "min", "neg", "erf",
                 "square", "pow", "relu", "silu", "gelu", "where", "scale", "gt", "ge", "lt", "eq", "cast", "sqrt"):
        assert kind in kinds, kind
    exact = [op for op in by_op(graph, "gelu") if op.get("approximate") == "none"]
    assert len(exact) == 1 and len(by_op(graph, "gelu")) == 2
    assert {op["factor"] for op in by_op(graph, "scale")} == {3.0, 0.25}
    shardplan.inspect(graph)


def test_layout_family(shardplan):
    def forward(m, x):
        a = x.view(2, 3, 4).permute(2, 0, 1).transpose(0, 1).reshape(3, 8).t()
        b = torch.cat([a, a], dim=1)[:, 1:5] + torch.stack([a[:, 0], a[:, 1]], dim=1).sum(1, keepdim=True)
        c, d = b.split(2, dim=1)
        e, f = b.chunk(2, dim=0)
        g = torch.unbind(x.view(2, 12), dim=0)[1].unsqueeze(0).expand(3, 12).flatten()
        return c.sum() + d.sum() + e.sum() + f.sum() + g.sum() + x.narrow(1, 1, 3).mean() + x.select(0, -1).amax()
    graph = export(forward, torch.randn(6, 4))
    kinds = set(ops_of(graph))
    for kind in ("reshape", "transpose", "concat", "slice", "broadcast", "reduce"):
        assert kind in kinds, kind
    # view -> permute -> transpose collapse into one transpose of the view.
    first = by_op(graph, "transpose")[0]
    assert first["perm"] == [0, 2, 1] and first["shape"] == [2, 4, 3]
    assert {op["kind"] for op in by_op(graph, "reduce")} == {"sum", "mean", "max"}
    shardplan.inspect(graph)


def test_norms_softmax_and_loss(shardplan):
    class Head(nn.Module):
        def __init__(self):
            super().__init__()
            self.norm = nn.LayerNorm(8)
            self.rms = nn.RMSNorm(8, eps=1e-6)
            self.proj = nn.Linear(8, 10)

        def forward(self, x, labels):
            h = self.proj(self.rms(self.norm(x)))
            return F.cross_entropy(h.transpose(1, 2), labels) + F.log_softmax(h, -1).mean() + F.softmax(h, 1).amax()
    graph = export_graph(Head(), (torch.randn(2, 3, 8), torch.randint(10, (2, 3))), name="head")
    (layer_norm,) = by_op(graph, "layer_norm")
    assert layer_norm["inputs"] == ["x", "norm.weight", "norm.bias"]
    assert layer_norm["axis"] == 2 and layer_norm["epsilon"] == 1e-5
    (rms_norm,) = by_op(graph, "rms_norm")
    assert rms_norm["epsilon"] == 1e-6 and rms_norm["inputs"][1] == "rms.weight"
    (loss,) = by_op(graph, "cross_entropy")
    # PyTorch's [N, C, d] logits: the transpose the model made and the exporter's to classes-last cancel.
    assert loss["inputs"][0].startswith("proj") and loss["dtype"] == "f32"
    assert by_op(graph, "softmax")[0]["axis"] == 1 and by_op(graph, "log_softmax")[0]["axis"] == 2
    shardplan.inspect(graph)


def test_attention_layouts_grouped_queries_and_scale(shardplan):
    def forward(m, q, k, v):
        causal = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        scaled = F.scaled_dot_product_attention(q, k, v, scale=0.5, enable_gqa=True)
        return (causal + scaled).sum()
    graph = export(forward, torch.randn(2, 4, 6, 8), torch.randn(2, 2, 6, 8), torch.randn(2, 2, 6, 8))
    first, second = by_op(graph, "attention")
    assert first.get("causal") is True and "causal" not in second
    assert first["shape"] == [2, 6, 4, 8]
    (scale,) = by_op(graph, "scale")
    assert scale["factor"] == pytest.approx(0.5 * 8 ** 0.5)
    analysis = shardplan.inspect(graph)
    assert analysis["flops"]["causal_attention_forward"] == 2 * 2 * 6 * 4 * 6 * 16


def test_convolution_network(shardplan):
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2, bias=False), nn.AvgPool2d(2),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))

    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = model

        def forward(self, images, labels):
            return F.cross_entropy(self.body(images), labels)
    graph = export_graph(Classifier(), (torch.randn(4, 3, 16, 16), torch.randint(10, (4,))), name="cnn")
    kinds = ops_of(graph)
    assert kinds.count("conv2d") == 2 and kinds.count("pool2d") == 3 and "batch_norm" in kinds
    assert [op["layer"] for op in by_op(graph, "conv2d")] == ["body.0", "body.4"]
    shardplan.inspect(graph)


class ConvBatchNorm(nn.Module):
    """A conv, a BatchNorm with uniform running statistics (so their constants carry values), a ReLU."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(4)
        with torch.no_grad():
            self.bn.running_mean.fill_(0.5)
            self.bn.running_var.fill_(4.0)
            self.bn.weight.uniform_(0.5, 2.0)
            self.bn.bias.uniform_(-1.0, 1.0)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x))).mean()


def test_training_mode_batch_norm_is_the_catalog_op(shardplan):
    model = ConvBatchNorm().train()
    graph = export_graph(model, (torch.randn(2, 3, 6, 6),), name="bn-train")
    (norm,) = by_op(graph, "batch_norm")
    assert (norm["name"], norm["inputs"], norm["axis"], norm["epsilon"]) == ("bn", ["conv", "bn.weight", "bn.bias"], 1, 1e-5)
    assert "constant" not in ops_of(graph)  # the running statistics are not read: batch statistics are
    shardplan.inspect(graph)


def test_eval_mode_batch_norm_is_a_per_channel_affine_of_the_running_statistics(shardplan):
    # module.eval() or a frozen BatchNorm (detection and segmentation fine-tuning) normalises with the running
    # statistics: x * scale + shift per channel, which couples no two samples, not the catalog's batch_norm.
    model = ConvBatchNorm().train()
    model.bn.eval()
    x = torch.randn(2, 3, 6, 6)
    graph = export_graph(model, (x,), name="bn-eval")
    assert "batch_norm" not in ops_of(graph)
    assert graph["parameters"] == export_graph(ConvBatchNorm(), (x,), name="bn-train")["parameters"]
    assert all("trainable" not in p for p in graph["parameters"])  # the affine weight and bias train as in the model
    ops = {op["name"]: op for op in graph["ops"]}
    assert ops["bn.inverse_std"]["op"] == "constant" and ops["bn.inverse_std"]["value"] == pytest.approx(4.00001 ** -0.5)
    assert ops["bn.running_mean"]["value"] == 0.5
    assert (ops["bn.scale"]["op"], ops["bn.scale"]["inputs"]) == ("mul", ["bn.weight", "bn.inverse_std"])
    assert (ops["bn.shift"]["op"], ops["bn.shift"]["inputs"]) == ("sub", ["bn.bias", "bn.mean_scaled"])
    assert (ops["bn"]["op"], ops["bn"]["inputs"]) == ("add", ["bn.scaled", "bn.shift_channels"])
    assert ops["bn.scale_channels"]["shape"] == [4, 1, 1]
    (result,) = evaluate(graph, {"x": x, **dict(model.named_parameters())})
    torch.testing.assert_close(result, model(x))
    analysis = shardplan.inspect(graph)
    assert analysis["parameters"]["count"] == sum(p.numel() for p in model.parameters())


def test_eval_mode_batch_norm_without_affine_is_all_constants(shardplan):
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm1d(5, affine=False)

        def forward(self, x):
            return self.bn(x).sum()
    model = Model().eval()
    x = torch.randn(3, 5, 7)
    graph = export_graph(model, (x,), name="bn-plain")
    assert ops_of(graph) == ["constant", "constant", "mul", "add", "reduce"]
    scale = graph["ops"][0]
    assert (scale["name"], scale["shape"], scale["value"]) == ("bn.inverse_std", [5, 1], pytest.approx(1.00001 ** -0.5))
    (result,) = evaluate(graph, {"x": x})
    torch.testing.assert_close(result, model(x))
    shardplan.inspect(graph)


@pytest.mark.parametrize("dtype", [torch.bool, torch.int32, torch.int8, torch.int64])
def test_sums_of_booleans_and_integers_are_int64_as_in_pytorch(shardplan, dtype):
    # Masked mean pooling counts the mask with mask.sum(1): PyTorch sums booleans and integers as int64, and the
    # catalog's reduce keeps its input's dtype and takes no booleans, so the mask is cast to i64 first.
    def forward(m, x, mask):
        pooled = (x * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
        anywhere = mask.amax(1).to(x.dtype)                       # amax of booleans is any: a bool result
        return pooled.mean() + anywhere.mean() + mask.sum().to(x.dtype)
    x = torch.randn(3, 5, 4)
    mask = (torch.arange(5) < torch.tensor([[2], [5], [1]])).to(dtype)
    graph = export(forward, x, mask)
    counts = [op for op in by_op(graph, "reduce") if op["kind"] == "sum" and op["dtype"] == "i64"]
    assert len(counts) == 2
    for op in by_op(graph, "reduce"):
        operand = next(o for o in graph["ops"] + graph["inputs"] if o["name"] == op["inputs"][0])
        assert operand["dtype"] == op["dtype"] != "bool", op
    (result,) = evaluate(graph, {"inputs_0": x, "inputs_1": mask})
    torch.testing.assert_close(result, forward(None, x, mask))
    shardplan.inspect(graph)


class BasicBlock(nn.Module):
    """torchvision's ResNet block as it is written there: ReLU(inplace=True) and `out += identity`."""

    def __init__(self, channels):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += identity
        return self.relu(out)


def test_in_place_ops_of_a_torchvision_style_network_are_their_out_of_place_forms(shardplan):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(inplace=True))
            self.blocks = nn.Sequential(BasicBlock(4), BasicBlock(4))
            self.fc = nn.Linear(4, 10)

        def forward(self, images, labels):
            h = self.blocks(self.stem(images))
            return F.cross_entropy(self.fc(F.adaptive_avg_pool2d(h, 1).flatten(1)), labels)
    model = Net()
    images, labels = torch.randn(2, 3, 8, 8), torch.tensor([1, 7])
    graph = export_graph(model.train(), (images, labels), name="resnet-ish")
    assert ops_of(graph).count("relu") == 5 and ops_of(graph).count("batch_norm") == 5
    assert [op["layer"] for op in by_op(graph, "relu")] == ["stem.2", "blocks.0", "blocks.0", "blocks.1", "blocks.1"]
    assert model.stem[1].num_batches_tracked.item() == 0  # folding BatchNorm's `+= 1` ran on a copy, not the module
    shardplan.inspect(graph)
    model.eval()  # eval-mode BatchNorm with uniform statistics, so that the reference interpreter runs the graph
    graph = export_graph(model, (images, labels), name="resnet-ish")
    (loss,) = evaluate(graph, {"images": images, "labels": labels, **dict(model.named_parameters())})
    torch.testing.assert_close(loss, model(images, labels))


def test_writes_through_views_reach_the_tensor_and_its_other_views(shardplan):
    # h[:, 0] = 0 is a select of h and a fill_ of it: the write is carried back to h (a concat of the untouched
    # parts and the new one), and `first`, a view of h taken before the writes, reads them as PyTorch's view does.
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x, mask):
            h = self.fc(x)
            first = h[:, 0]
            F.relu(h, inplace=True)
            h += x
            h.mul_(2).clamp_(-1.0, 1.5)
            F.silu(h, inplace=True)
            h = F.dropout(h, 0.1, training=False, inplace=True)
            h.masked_fill_(mask, 0.25)
            h[:, 0] = 0
            h[:, 1] = x[:, 1]
            h.transpose(0, 1)[2].mul_(3)
            h.view(2, 12)[:, 4:].sub_(1)
            copied = h.transpose(1, 2).reshape(-1)  # not contiguous: the reshape copies, so writing it leaves h
            copied.add_(7)
            e = x * 1.0                          # requires no gradient: PyTorch lets its split pieces be written
            left, right = e.chunk(2, -1)
            right.sub_(1)
            e.unbind(1)[2].add_(5)
            return h.sum() + 0.5 * first.sum() + (2 * left).sum() + (e * e).sum() + 0.1 * copied.sum()
    model = Model()
    x, mask = torch.randn(2, 3, 4), torch.rand(2, 3, 4) > 0.5
    graph = export_graph(model, (x, mask), name="views")
    assert not any(op["op"].endswith("_") for op in graph["ops"])
    assert {"relu", "silu", "where", "concat", "slice"} <= set(ops_of(graph))
    (result,) = evaluate(graph, {"x": x, "mask": mask, **dict(model.named_parameters())})
    torch.testing.assert_close(result, model(x.clone(), mask))
    shardplan.inspect(graph)


def test_assignments_fill_and_copy_are_constants_or_broadcasts(shardplan):
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)

        def forward(self, x):
            h = self.fc(x)
            h[0].zero_()
            h[:, 1:3].fill_(x.mean())          # fill_ with a 0-d activation: a broadcast
            h[1] = 2.0                         # fill_ with a lifted constant: a constant of value 2
            g = self.fc(x)
            g.copy_(x[0])                      # copy_ of a row, broadcast over the whole tensor
            return h.sum() + g.sum()
    model = Model()
    x = torch.randn(3, 4)
    graph = export_graph(model, (x,), name="assign")
    values = [op.get("value") for op in by_op(graph, "constant")]
    assert values == [0, 2]
    assert [op["shape"] for op in by_op(graph, "broadcast")] == [[3, 2], [3, 4]]
    (result,) = evaluate(graph, {"x": x, **dict(model.named_parameters())})
    torch.testing.assert_close(result, model(x))
    shardplan.inspect(graph)


def test_a_buffer_written_in_place_is_read_with_its_new_value():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("average", torch.ones(3))

        def forward(self, x):
            self.average.mul_(0.9).add_(0.1 * x.mean(0))
            return (x * self.average).sum()
    model = Model()
    x = torch.randn(2, 3)
    graph = export_graph(model, (x,), name="ema")
    assert model.average.tolist() == [1.0, 1.0, 1.0]
    assert [op["value"] for op in by_op(graph, "constant")] == [pytest.approx(0.9)]
    (result,) = evaluate(graph, {"x": x})
    torch.testing.assert_close(result, Model()(x))


class Frozen(nn.Module):
    def __init__(self, function):
        super().__init__()
        self.function = function
        self.w = nn.Parameter(torch.ones(3), requires_grad=False)

    def forward(self, x):
        return self.function(self, x)


@pytest.mark.parametrize("function,message", [
    (lambda m, x: x.relu_().sum(),
     r'"relu_" \(aten.relu_.default\) .*writes in place to the input \'x\'.*out-of-place form aten.relu'),
    (lambda m, x: x.view(9).mul_(2).sum() + x.sum(), r"writes in place to the input 'x'.*`x = x.mul\(...\)`"),
    (lambda m, x: (x.__setitem__((slice(None), 0), 0), x.sum())[1], r"fill_.*input 'x'.*build a new tensor"),
    (lambda m, x: (m.w.mul_(2) * x).sum(), r"writes in place to the parameter 'w'"),
    (lambda m, x: (m.w.sin_() * x).sum(),
     r"parameter 'w'.*its out-of-place form aten.sin has no lowering either, so rewrite that part"),
    (lambda m, x: (x * 1).diagonal().zero_().sum(), r"aten.diagonal.default has no shardplan.graph/1 equivalent"),
    (lambda m, x: (lambda h: (h.__setitem__(h > 0, 0), h.sum())[1])(x * m.w),
     r"aten.index_put_.default writes its argument in place, and its out-of-place form aten.index_put has no"),
    (lambda m, x: F.embedding(torch.tensor([0, 2]), m.w[:, None] * x, max_norm=1.0).sum(),
     r"aten.embedding_renorm has no.*: nn.Embedding\(max_norm=...\).*export without max_norm.*outside the training step"),
])
def test_in_place_writes_the_graph_cannot_hold_are_errors_naming_the_op(function, message):
    with pytest.raises(ExportError, match=message):
        export_graph(Frozen(function), (torch.randn(3, 3),), name="in-place")


def test_embedding_max_norm_says_to_drop_it_or_renormalise_outside_the_step():
    # nn.Embedding(max_norm=...) renormalises its own table in place (aten.embedding_renorm_), which has no
    # out-of-place form to point to: the error says what the user can do instead.
    model = nn.Sequential(nn.Embedding(10, 4, max_norm=1.0), nn.Linear(4, 2))
    with pytest.raises(ExportError, match=r"parameter '0.weight'.*export without max_norm.*under torch.no_grad\(\)") as error:
        export_graph(model, (torch.tensor([[1, 2, 3]]),), name="max-norm")
    assert "x.embedding_renorm" not in str(error.value)


def test_constants_are_folded_and_written_in_each_layer_that_reads_them(shardplan):
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.randn(6, 6))

        def forward(self, x, mask):
            return (x @ self.w).masked_fill(mask, float("-inf")).softmax(-1)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList([Block(), Block()])
            self.register_buffer("table", torch.arange(36.0).view(6, 6))

        def forward(self, x):
            mask = torch.ones(6, 6, dtype=torch.bool).triu(1)
            for block in self.blocks:
                x = block(x, mask) + self.table.cos()
            return x.sum()
    graph = export_graph(Model(), (torch.randn(6, 6),), name="constants")
    constants = by_op(graph, "constant")
    masks = [op for op in constants if op["dtype"] == "bool"]
    assert [op["layer"] for op in masks] == ["blocks.0", "blocks.1"]
    fills = [op for op in constants if op.get("value") == -1e308]
    assert len(fills) == 2  # -inf, written as the finite -1e308 that every float dtype rounds to -inf
    tables = [op for op in constants if op["name"].endswith("table.cos")]
    assert len(tables) == 1 and "value" not in tables[0] and "layer" not in tables[0]
    assert "cos" not in ops_of(graph) and "triu" not in ops_of(graph)
    shardplan.inspect(graph)


def test_random_tensors_shaped_like_an_activation_are_constants_as_randn_is(shardplan):
    # A denoising objective: noise shaped like the input, from randn_like (which was rejected) or randn (folded).
    def forward(m, x):
        h = F.linear(x, m.w)
        noisy = h + torch.randn_like(h) + torch.rand_like(h) + torch.randint_like(h, 3) + torch.randn(h.shape)
        return F.mse_loss(F.linear(noisy, m.w), x)
    graph = export(forward, torch.randn(2, 5, 4), w=(4, 4))
    noise = [op for op in by_op(graph, "constant") if "like" in op["name"] or "randn" in op["name"]]
    assert [op["name"] for op in noise] == ["randn_like", "rand_like", "randint_like", "randn"]
    assert all(op["shape"] == [2, 5, 4] and "value" not in op for op in noise)
    shardplan.inspect(graph)


def test_each_scalar_operand_is_its_own_constant(shardplan):
    # A Python number becomes a scalar constant made for one use; a later one used to find the op of an
    # earlier, freed one when Python gave it the same id: a clamp's bound read another scalar's constant.
    def forward(m, x):
        for i in range(8):
            x = torch.where(x.clamp(-1.0 - i, 2.0 + i) > 0.5 + i, x, 3.0 + i)
            x = (1.0 - x.masked_fill(x < float(i), float(-i))).reciprocal().log1p()
        return x.sum()
    graph = export(forward, torch.randn(2, 3))
    values = {op["name"]: op["value"] for op in by_op(graph, "constant")}
    clamps = [(values[low["inputs"][1]], values[high["inputs"][1]])
              for low, high in zip(by_op(graph, "max"), by_op(graph, "min"))]
    assert clamps == [(-1.0 - i, 2.0 + i) for i in range(8)]
    wheres = [values[op["inputs"][1 if op["inputs"][1] in values else 2]] for op in by_op(graph, "where")]
    assert wheres == [v for i in range(8) for v in (3.0 + i, -i)]
    assert [values[op["inputs"][1]] for op in by_op(graph, "gt")] == [0.5 + i for i in range(8)]
    shardplan.inspect(graph)

def test_stack_and_cat_promote_parts_of_different_dtypes(shardplan):
    # torch.stack promotes as torch.cat does; stack wrote a concat of f32 and bf16 parts, which shardplan refused.
    graph = export(lambda m, x, y: torch.stack([x @ m.w, y.to(torch.bfloat16)], 1).sum()
                   + torch.cat([x @ m.w, y.to(torch.bfloat16)], 0).sum(),
                   torch.randn(2, 4), torch.randn(2, 4), w=(4, 4))
    assert [op["dtype"] for op in by_op(graph, "concat")] == ["f32", "f32"]
    assert all(part["dtype"] == "f32" for op in by_op(graph, "concat")
               for part in graph["ops"] if part["name"] in op["inputs"])
    shardplan.inspect(graph)


def test_names_layers_batch_dims_and_determinism():
    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(16, 4)
            self.layers = nn.ModuleList([nn.Linear(4, 4) for _ in range(2)])

        def forward(self, ids, weights):
            x = self.embed(ids)
            for layer in self.layers:
                x = layer(x)
            return (x * weights).sum()
    model = Model()
    inputs = (torch.randint(16, (5, 3)), torch.randn(3, 5, 1).transpose(0, 1))
    graph = export_graph(model, inputs, name="named", batch_dims={"weights": 0})
    assert [op["name"] for op in graph["ops"][:3]] == ["embed", "layers.0", "layers.0.add_bias"]
    assert [op.get("layer") for op in graph["ops"][:3]] == [None, "layers.0", "layers.0"]
    assert default_layer("layers.12.attn.qkv") == "layers.12" and default_layer("embed") is None
    again = export_graph(model, inputs, name="named", batch_dims={"weights": 0})
    assert dumps_graph(graph) == dumps_graph(again)
    renamed = export_graph(model, inputs, name="named", output_names=["objective"])
    assert renamed["outputs"] == ["objective"] and renamed["ops"][-1]["name"] == "objective"


def test_bitwise_not_of_booleans_is_logical_not(shardplan):
    # ~mask on a padding mask: aten.bitwise_not, the same as logical_not on booleans.
    def forward(m, x, keep):
        return x.masked_fill((~keep).unsqueeze(-1), 0.0).sum() + (~(x > 0)).float().sum()
    x, keep = torch.randn(2, 3, 4), torch.tensor([[True, False, True], [False, True, True]])
    graph = export(forward, x, keep)
    nots = [op for op in by_op(graph, "eq") if op["dtype"] == "bool"]
    assert len(nots) == 2 and "bitwise_not" not in ops_of(graph)
    (result,) = evaluate(graph, {"inputs_0": x, "inputs_1": keep})
    torch.testing.assert_close(result, forward(None, x, keep))
    shardplan.inspect(graph)
    with pytest.raises(ExportError, match=r"bitwise_not of i64 flips bits.*on booleans \(~mask\) it is supported"):
        export(lambda m, x, ids: (x * (~ids)).sum(), torch.randn(2, 3), torch.randint(5, (2, 3)))


def test_mse_loss_is_a_squared_difference_and_its_mean(shardplan):
    # F.mse_loss broadcasts its operands with aten.broadcast_tensors (the identity for equal shapes), then
    # aten.mse_loss: sub, square and a reduce mean (or sum; nothing for reduction='none').
    def forward(m, x, target):
        prediction = F.linear(x, m.w).mean(1)
        return (F.mse_loss(prediction, target) + F.mse_loss(prediction, target[0], reduction="sum")
                + F.mse_loss(prediction, target, reduction="none").amax())
    x, target = torch.randn(4, 5, 3), torch.randn(4, 2)
    model = Function(forward, w=(2, 3))
    with pytest.warns(UserWarning, match="different to the input size"):  # PyTorch's own, for the [2] target
        graph = export_graph(model, (x, target), name="mse")
    assert "broadcast_tensors" not in str(graph) and len(by_op(graph, "square")) == 3
    assert [op["shape"] for op in by_op(graph, "broadcast")] == [[4, 2]]  # only the [2] target is broadcast
    assert [op["kind"] for op in by_op(graph, "reduce") if op["shape"] == []][:2] == ["mean", "sum"]
    with pytest.warns(UserWarning, match="different to the input size"):
        expected = model(x, target)
    (result,) = evaluate(graph, {"inputs_0": x, "inputs_1": target, "w": model.w})
    torch.testing.assert_close(result, expected)
    shardplan.inspect(graph)


def test_batch_dims_naming_no_input_is_an_error_listing_the_inputs():
    # A typo ({"X": 1} for input x) used to be ignored: every input kept batch dimension 0, a wrong global batch.
    class SequenceFirst(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(8, 5)

        def forward(self, x, y):
            return F.cross_entropy(self.fc(x).permute(1, 2, 0), y.t())
    inputs = (torch.randn(6, 4, 8), torch.randint(5, (6, 4)))
    with pytest.raises(ExportError, match=r"batch_dims names 'X', 'Y', which are not inputs of the forward; its "
                                          r"inputs are 'x', 'y'"):
        export_graph(SequenceFirst(), inputs, name="typo", batch_dims={"X": 1, "Y": 1})
    with pytest.raises(ExportError, match=r"batch_dims names 'labels', which is not an input"):
        export_graph(SequenceFirst(), inputs, name="typo", batch_dims={"x": 1, "labels": 1})
    graph = export_graph(SequenceFirst(), inputs, name="seq-first", batch_dims={"x": 1, "y": 1})
    assert [entry["batch_dim"] for entry in graph["inputs"]] == [1, 1]


@pytest.mark.parametrize("function,inputs,message", [
    (lambda m, x: torch.cos(x).sum(), (torch.randn(2, 3),), 'node "cos" (aten.cos.default) in the top-level forward'),
    (lambda m, x: x[:, ::2].sum(), (torch.randn(2, 4),), "strided slice"),
    (lambda m, q: F.scaled_dot_product_attention(q, q, q, attn_mask=torch.ones(3, 3, dtype=torch.bool)).sum(),
     (torch.randn(1, 2, 3, 4),), "attn_mask"),
    (lambda m, q: F.scaled_dot_product_attention(q, q, q, dropout_p=0.1).sum(), (torch.randn(1, 2, 3, 4),), "dropout_p"),
    (lambda m, x: x.sum(), (torch.randn(2, 3, dtype=torch.float64),), "float64"),
    (lambda m, x: torch.cumsum(x, 0).sum(), (torch.randn(2, 3),), "aten.cumsum.default has no shardplan.graph/1 equivalent"),
    (lambda m, x: x.max(dim=0).values.sum(), (torch.randn(2, 3),), "indices"),
    (lambda m, x: F.conv1d(x, torch.ones(2, 2, 3), dilation=2).sum(), (torch.randn(1, 2, 8),), "dilated convolution"),
    (lambda m, x: F.conv1d(x, torch.ones(2, 2, 4), padding="same").sum(), (torch.randn(1, 2, 8),), "padding='same'"),
    (lambda m, x: torch.ops.aten.convolution(x, torch.ones(2, 2, 3), None, [1], [0], [1], True, [0], 1).sum(),
     (torch.randn(1, 2, 8),), "transposed convolution"),
    (lambda m, x: F.conv3d(x, torch.ones(1, 1, 1, 1, 1)).sum(), (torch.randn(1, 1, 2, 2, 2),), "aten.conv3d"),
    (lambda m, x: F.pad(x, (1, 1), mode="reflect").sum(), (torch.randn(1, 2, 8),), "reflect padding"),
    (lambda m, x: x.repeat_interleave(torch.tensor([1, 2]), dim=0).sum(), (torch.randn(2, 3),), "tensor of counts"),
    (lambda m, x: x.var(0).sum(), (torch.randn(1, 3),), "no degrees of freedom"),
])
def test_what_the_catalog_cannot_express_is_an_error_naming_the_op(function, inputs, message):
    with pytest.raises(ExportError, match=None) as raised:
        export(function, *inputs)
    assert message in str(raised.value), str(raised.value)


def test_unsupported_op_inside_a_module_names_the_module():
    class Inner(nn.Module):
        def forward(self, x):
            return torch.sin(x)

    class Outer(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = Inner()

        def forward(self, x):
            return self.inner(x).sum()
    with pytest.raises(ExportError) as raised:
        export_graph(Outer(), (torch.randn(2, 2),), name="sin")
    text = str(raised.value)
    assert "aten.sin.default" in text and "module 'inner'" in text and "embedding" in text  # lists what is supported


@torch.library.custom_op("shardplan_test::twice", mutates_args=())
def _twice(x: torch.Tensor) -> torch.Tensor:
    return 2 * x


@_twice.register_fake
def _(x):
    return torch.empty_like(x)


def test_custom_op_is_named_in_its_own_namespace():
    with pytest.raises(ExportError) as raised:
        export(lambda m, x: _twice(x).sum(), torch.randn(2, 3))
    assert "shardplan_test.twice.default has no shardplan.graph/1 equivalent" in str(raised.value), str(raised.value)


def test_a_forward_without_a_scalar_loss_is_warned_of():
    with pytest.warns(UserWarning, match=r"the forward returns no scalar \(outputs of shapes \[2, 3\]\)"):
        export(lambda m, x: x * 2, torch.randn(2, 3))


def test_a_forward_returning_an_input_unchanged_is_an_error():
    # The graph would have no ops, which shardplan refuses ("the graph has no ops"): say so at export.
    with pytest.raises(ExportError, match=r"the forward computes nothing: it returns 'inputs_0' unchanged"):
        export(lambda m, x: x, torch.randn(2, 3))
    with pytest.raises(ExportError, match=r"returns 'w' unchanged"):
        export(lambda m, x: m.w, torch.randn(2, 3), w=(3,))


def test_an_input_without_the_batch_is_an_error_naming_it():
    # A [seq, d] position table passed beside [batch, seq, d] activations: shardplan refuses inputs that disagree on
    # the batch, so the exporter names the input and the ways out.
    def forward(m, x, positions):
        return (x + positions).sum()
    x, positions = torch.randn(8, 16, 4), torch.randn(16, 4)
    with pytest.raises(ExportError, match=r"input 'inputs_1' of shape \[16, 4\] has 16 along its batch dimension 0, "
                                          r"but input 'inputs_0' has 8.*make it a buffer or a parameter"):
        export(forward, x, positions)
    graph = export(forward, x, positions.expand(8, 16, 4).clone())  # batched: fine
    assert [entry["shape"][0] for entry in graph["inputs"]] == [8, 8]


def test_scalar_input_is_refused_naming_it():
    # A 0-D input has no dimension to carry the batch, whatever batch_dims says.
    with pytest.raises(ExportError, match="input 'inputs_1' is a scalar"):
        export(lambda m, x, t: (x * t).sum(), torch.randn(2, 3), torch.tensor(2.0))


def test_variance_and_standard_deviation_with_both_corrections(shardplan):
    def forward(m, x):
        biased = x.var(-1, unbiased=False)                      # aten.var.dim, correction 0
        unbiased = torch.var(x, dim=(0, 2), keepdim=True)       # Bessel's correction over 2 x 8 elements
        spread, centre = torch.var_mean(x, dim=1, correction=0)
        deviation = x.std()                                     # every element, Bessel's correction
        return biased.sum() + unbiased.sum() + spread.sum() + centre.sum() + deviation + torch.std(x, 1, True).sum()
    x = torch.randn(2, 5, 8)
    graph = export(forward, x)
    scales = [op for op in by_op(graph, "scale") if ".correction" in op["name"]]
    assert [op["factor"] for op in scales] == [1 / 15, 1 / 79, 1 / 4]
    assert [op["shape"] for op in scales] == [[1, 5, 1], [], [2, 8]]
    assert len(by_op(graph, "sqrt")) == 2 and len(by_op(graph, "square")) == 5
    # var_mean's mean is the centring mean, reshaped to the reduced shape: no second reduction.
    (mean,) = [op for op in graph["ops"] if "mean_squeezed" in op["name"]]
    assert mean["shape"] == list(torch.var_mean(x, dim=1)[1].shape) == [2, 8]
    assert len(by_op(graph, "reduce")) == 2 * 5 + 5  # mean and spread per statistic, then the sums of the loss
    shardplan.inspect(graph)


def test_layer_norm_written_with_var_keeps_pytorchs_shapes_and_dtypes(shardplan):
    class ByHand(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(8, dtype=torch.bfloat16))

        def forward(self, x):
            mean = x.mean(-1, keepdim=True)
            variance = x.var(-1, keepdim=True, unbiased=False)
            return ((x - mean) / torch.sqrt(variance + 1e-5) * self.weight).float().sum()
    graph = export_graph(ByHand(), (torch.randn(2, 5, 8, dtype=torch.bfloat16),), name="by-hand")
    spread = next(op for op in by_op(graph, "reduce") if op["name"] == "reduce_1")
    assert (spread["kind"], spread["axes"], spread["keepdims"], spread["shape"]) == ("mean", [2], True, [2, 5, 1])
    assert {op["dtype"] for op in graph["ops"][:-1] if op["op"] in ("sub", "square", "reduce", "div")} == {"bf16"}
    shardplan.inspect(graph)


def test_one_dimensional_convolutions_are_conv2d_of_height_one(shardplan):
    class Mixer(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Conv1d(4, 8, 3, stride=2, padding=1)               # Whisper's second stem conv
            self.local = nn.Conv1d(8, 8, 4, padding=3, groups=8, bias=False)  # Mamba's causal depthwise conv

        def forward(self, x):
            h = F.gelu(self.stem(x))
            h = self.local(h)[..., : h.shape[-1]]                             # the causal slice
            direct = torch.ops.aten.convolution(x, self.stem.weight, None, [1], [0], [1], False, [0], 1)
            return h.sum() + direct.sum() + F.conv1d(x[0], self.stem.weight).sum()        # unbatched
    graph = export_graph(Mixer(), (torch.randn(2, 4, 10),), name="mixer")
    stem, local, direct, unbatched = by_op(graph, "conv2d")
    assert (stem["name"], stem["stride"], stem["padding"], stem["groups"], stem["shape"]) == \
        ("stem", [1, 2], [0, 1], 1, [2, 8, 1, 5])
    assert (local["padding"], local["groups"], local["shape"]) == ([0, 3], 8, [2, 8, 1, 8])
    assert direct["shape"] == [2, 8, 1, 8] and unbatched["shape"] == [1, 8, 1, 8]
    reshapes = {op["name"]: op["shape"] for op in by_op(graph, "reshape")}
    assert reshapes["stem.input_2d"] == [2, 4, 1, 10] and reshapes["stem.weight_2d"] == [8, 4, 1, 3]
    assert reshapes["stem.bias_channels"] == [8, 1, 1] and reshapes["stem.output"] == [2, 8, 5]
    causal = by_op(graph, "slice")[0]
    assert (causal["inputs"], causal["axis"], causal["start"], causal["end"]) == (["local.output"], 2, 0, 5)
    analysis = shardplan.inspect(graph)
    # Multiply-adds of each conv, the stem's bias adds, the GELU (9 per element), the sums and their two adds.
    assert analysis["flops"]["forward"] == 2 * (2 * 8 * 5 * 4 * 3 + 2 * 8 * 8 * 1 * 4 + 3 * 8 * 8 * 4 * 3) \
        + 80 + 9 * 80 + 2 * 8 * 5 + 128 + 64 + 2


def test_hugging_face_gpt2_conv1d_is_an_addmm(shardplan):
    # transformers' Conv1D: x.view(-1, nx) then addmm(bias, x, weight [nx, nf]) then a view back.
    graph = export(lambda m, x: torch.addmm(m.b, x.view(-1, 8), m.w).view(2, 5, 24).sum(), torch.randn(2, 5, 8),
                   w=(8, 24), b=(24,))
    assert ops_of(graph) == ["reshape", "matmul", "add", "reshape", "reduce"]
    shardplan.inspect(graph)


def test_padding_triangles_and_repeats_of_activations(shardplan):
    def forward(m, x):
        padded = F.pad(x, (2, -1, 0, 3), value=0.5)            # last axis: 2 before, crop 1 after; then 3 rows after
        upper, lower = x.triu(1), torch.tril(x, -1)
        tiled = x.repeat(2, 1, 3)                               # [4, 5, 24]
        interleaved = x.repeat_interleave(3, dim=1)             # [2, 15, 8]
        flat = x.repeat_interleave(2)                           # [160], flattened first
        return padded.sum() + (upper * lower).sum() + tiled.sum() + interleaved.sum() + flat.sum()
    x = torch.randn(2, 5, 8)
    graph = export(forward, x)
    fills = [op for op in by_op(graph, "constant") if op["name"].startswith("padding")]
    assert [(op["shape"], op["value"]) for op in fills] == [([2, 5, 2], 0.5), ([2, 3, 9], 0.5)]
    crop, *_ = by_op(graph, "slice")
    assert (crop["axis"], crop["start"], crop["end"]) == (2, 0, 7)
    assert [op["shape"] for op in by_op(graph, "concat")] == [[2, 5, 9], list(F.pad(x, (2, -1, 0, 3)).shape)]
    masks = [op for op in by_op(graph, "constant") if op["dtype"] == "bool"]
    assert [op["shape"] for op in masks] == [[5, 8], [5, 8]] and len(by_op(graph, "where")) == 2
    broadcasts = [op["shape"] for op in by_op(graph, "broadcast")]
    assert broadcasts == [[2, 2, 5, 3, 8], [2, 5, 3, 8], [80, 2]]
    merged = [op["shape"] for op in by_op(graph, "reshape") if ".merge" in op["name"]]
    assert merged == [list(x.repeat(2, 1, 3).shape), [2, 15, 8], [160]]
    shardplan.inspect(graph)


class _MixedPrecision(nn.Module):
    """Products (linear, matmul, einsum), elementwise ops and a loss: what autocast changes and what it leaves."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 16)
        self.w = nn.Parameter(torch.randn(16, 6))
        self.head = nn.Linear(6, 5, bias=False)

    def forward(self, x, y):
        h = torch.relu(self.fc(x)) @ self.w
        return F.cross_entropy(self.head(h * 0.5), y)


def test_export_under_autocast_writes_the_casts_autocast_makes(shardplan):
    # torch.export records aten.linear of f32 tensors with a bf16 result and no cast (autocast runs below what it
    # traces); shardplan used to refuse the graph ("the op states dtype bf16 but einsum of its inputs gives f32").
    torch.manual_seed(0)
    model = _MixedPrecision().train()
    x, y = torch.randn(4, 8), torch.randint(0, 5, (4,))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        graph = export_graph(model, (x, y), name="autocast")
        expected = model(x, y)
    casts = {op["name"]: op["dtype"] for op in by_op(graph, "cast") if ".autocast" in op["name"]}
    # fc reads x, its weight and bias as bf16; the matmul reads w as bf16 (its other operand already is); head
    # reads its weight as bf16; the loss (float32 under CPU autocast) reads the logits as f32.
    assert casts == {"fc.autocast": "bf16", "fc.autocast_1": "bf16", "fc.autocast_2": "bf16",
                     "matmul.autocast": "bf16", "head.autocast": "bf16", "cross_entropy_loss.autocast": "f32"}, casts
    assert {(op["op"], op["dtype"]) for op in graph["ops"] if op["op"] in ("einsum", "matmul", "cross_entropy")} == {
        ("einsum", "bf16"), ("matmul", "bf16"), ("cross_entropy", "f32")}
    analysis = shardplan.inspect(graph)
    assert analysis["parameters"]["count"] == sum(p.numel() for p in model.parameters())
    tensors = {"x": x, "y": y, **dict(model.named_parameters())}
    (loss,) = evaluate(graph, tensors)
    assert loss.dtype == expected.dtype == torch.float32
    # bf16 tolerance: the graph adds the bias after the bf16 product (einsum, add), PyTorch's addmm fuses it.
    torch.testing.assert_close(loss, expected.detach(), rtol=1.6e-2, atol=1e-5)


def test_example_models_export_under_autocast(shardplan):
    from examples import gpt2, llama
    from examples.command import build
    for module, cls in ((gpt2, gpt2.GPT2), (llama, llama.Llama)):
        config = module.CONFIGS["tiny"]
        model, device = build(cls, config, device="cpu", dtype=torch.float32)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            graph = export_graph(model, module.example_inputs(config, device), name=f"{cls.__name__}-autocast")
        products = {op["dtype"] for op in graph["ops"] if op["op"] in ("einsum", "attention")}
        assert products == {"bf16"}, products
        assert {p["dtype"] for p in graph["parameters"]} == {"f32"}
        shardplan.inspect(graph)


def test_mixed_float_operands_of_a_product_without_autocast_are_an_error():
    # torch.export's fake tensors accept linear(bf16, f32); PyTorch's kernel (and shardplan) refuse it.
    model = nn.Linear(8, 4)
    with pytest.raises(ExportError, match=r'node "linear" \(aten.linear.default\).*dtypes bf16, f32, f32, which '
                                          r"PyTorch's kernel refuses.*torch.autocast"):
        export_graph(_Wrap(model), (torch.randn(2, 8, dtype=torch.bfloat16),), name="mixed")


class _Wrap(nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x).sum()


def test_autocast_inside_the_forward_is_an_error_pointing_to_export_under_autocast():
    class Inner(_MixedPrecision):
        def forward(self, x, y):
            with torch.autocast("cpu", dtype=torch.bfloat16):
                return super().forward(x, y)
    with pytest.raises(ExportError, match=r"torch.autocast region inside the forward.*Export under the autocast"):
        export_graph(Inner(), (torch.randn(4, 8), torch.randint(0, 5, (4,))), name="inner")


def test_a_result_dtype_no_cast_explains_is_an_error_naming_autocast():
    from shardplan_torch.export import program_graph
    program = torch.export.export(_Wrap(nn.ReLU()), (torch.randn(2, 3),))
    relu = next(node for node in program.graph.nodes if node.op == "call_function" and "relu" in str(node.target))
    relu.meta["val"] = relu.meta["val"].to(torch.int32)  # as no cast of its float input could give
    with pytest.raises(ExportError, match=r'node "relu".*recorded a result of dtype i32 from inputs of dtype f32, '
                                          r"but the op gives f32.*torch.autocast"):
        program_graph(program, name="unexplained")


def test_batch_dims_none_makes_an_input_without_the_batch_a_constant(shardplan):
    # batch_dims={"pos": None} used to raise a raw TypeError ('<=' between int and NoneType).
    x, pos, y = torch.randn(8, 16, 4), torch.full((16, 4), 0.25), torch.randint(0, 3, (8, 16))
    model = Function(lambda m, x, pos, y: F.cross_entropy(F.linear(x + pos, m.w).transpose(1, 2), y), w=(3, 4))
    graph = export_graph(model, (x, pos, y), name="shared-table", batch_dims={"inputs_1": None})
    assert [entry["name"] for entry in graph["inputs"]] == ["inputs_0", "inputs_2"]
    (table,) = [op for op in graph["ops"] if op["name"] == "inputs_1"]
    assert (table["op"], table["shape"], table["dtype"], table["value"]) == ("constant", [16, 4], "f32", 0.25)
    (loss,) = evaluate(graph, {"inputs_0": x, "inputs_2": y, "w": model.w})
    torch.testing.assert_close(loss, model(x, pos, y).detach())
    assert shardplan.inspect(graph)["batch_size"] == 8
    with pytest.raises(ExportError, match=r"no input carries the batch"):
        export_graph(model, (x, pos, y), name="none", batch_dims={"inputs_0": None, "inputs_1": None, "inputs_2": None})
    with pytest.raises(ExportError, match=r"batch_dims gives 'inputs_1' 'rows': each input's batch dimension is an int"):
        export_graph(model, (x, pos, y), name="bad", batch_dims={"inputs_1": "rows"})
    with pytest.raises(ExportError, match=r"batch_dims is None: give one dimension for every input"):
        export_graph(model, (x, pos, y), name="bad", batch_dims=None)


def _hugging_face_repeat_kv(x, copies):
    """`transformers`' `repeat_kv`: `[batch, kv_heads, seq, head_dim]` to `copies` times the heads by expand and reshape."""
    batch, heads, length, width = x.shape
    return x[:, :, None, :, :].expand(batch, heads, copies, length, width).reshape(batch, heads * copies, length, width)


_GROUPED_ATTENTION = {
    "enable_gqa": lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
    "repeat_interleave": lambda q, k, v: F.scaled_dot_product_attention(
        q, k.repeat_interleave(4, dim=1), v.repeat_interleave(4, dim=1), is_causal=True),
    "repeat_kv": lambda q, k, v: F.scaled_dot_product_attention(
        q, _hugging_face_repeat_kv(k, 4), _hugging_face_repeat_kv(v, 4), is_causal=True),
}


@pytest.mark.parametrize("form", sorted(_GROUPED_ATTENTION))
def test_key_value_heads_repeated_before_attention_are_copies_of_a_broadcast(shardplan, form):
    # 8 query heads read 2 key/value heads; repeating k and v to 8 heads first (Hugging Face's repeat_kv, or
    # repeat_interleave) materialises the copies in PyTorch (a reshape merging an expanded axis with a real one
    # cannot be a view): an identity of the broadcast, which shardplan prices as the copy and sees through to count
    # 2 key/value heads. enable_gqa reads the 2 heads directly: no broadcast, no copy.
    torch.manual_seed(0)
    q, k, v = torch.randn(2, 8, 6, 4), torch.randn(2, 2, 6, 4), torch.randn(2, 2, 6, 4)
    attend = _GROUPED_ATTENTION[form]
    graph = export(lambda m, q, k, v: attend(q, k, v).sum(), q, k, v)
    (attention,) = by_op(graph, "attention")
    copies = by_op(graph, "identity")
    if form == "enable_gqa":
        assert copies == [] and by_op(graph, "broadcast") == []
    else:
        producers = {op["name"]: op for op in graph["ops"]}
        assert len(copies) == 2 and all(producers[c["inputs"][0]]["op"] == "broadcast" for c in copies)
        assert [c["shape"] for c in copies] == [[2, 2, 4, 6, 4]] * 2
    (result,) = evaluate(graph, {"inputs_0": q, "inputs_1": k, "inputs_2": v})
    torch.testing.assert_close(result, attend(q, k, v).sum())
    shardplan.inspect(graph)


def test_a_reshape_of_a_broadcast_copies_only_where_it_merges_a_grown_axis_with_data(shardplan):
    def forward(m, x):
        grown = x[:, None].expand(3, 4, 5)
        viewed = grown.reshape(3, 4, 5, 1).sum() + grown.reshape(3, 2, 2, 5).sum()  # splits and size-1 axes: views
        return viewed + grown.reshape(12, 5).sum() + grown.reshape(3, 20).sum()     # merges 3 or 5 with 4: copies
    graph = export(forward, torch.randn(3, 5))
    copies = by_op(graph, "identity")
    assert len(copies) == 2
    readers = [op for op in by_op(graph, "reshape") if op["inputs"][0] in {c["name"] for c in copies}]
    assert sorted(op["shape"] for op in readers) == [[3, 20], [12, 5]]
    shardplan.inspect(graph)


def test_nll_loss_of_log_softmax_is_the_cross_entropy_of_the_logits(shardplan):
    # F.nll_loss(F.log_softmax(x, -1), y) is F.cross_entropy(x, y), which PyTorch runs as those two kernels: the
    # catalog's cross_entropy of the logits, the log_softmax left unread. [N, C, d] logits take the classes last.
    flat = export(lambda m, x, y: F.nll_loss(F.log_softmax(x @ m.w, -1), y), torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2]),
                  w=(4, 3))
    (loss,) = by_op(flat, "cross_entropy")
    assert by_op(flat, "log_softmax") == [] and loss["inputs"][0] == by_op(flat, "matmul")[0]["name"]
    spatial = export(lambda m, x, y: F.nll_loss(F.log_softmax(x, 1), y), torch.randn(2, 3, 5), torch.randint(0, 3, (2, 5)))
    (move,) = by_op(spatial, "transpose")
    assert move["perm"] == [0, 2, 1] and by_op(spatial, "cross_entropy")[0]["inputs"][0] == move["name"]
    shardplan.inspect(flat)


@pytest.mark.parametrize("function,message", [
    (lambda m, x, y: F.nll_loss(x, y), r"nll_loss is supported only of log_softmax over the classes"),
    (lambda m, x, y: F.nll_loss(F.log_softmax(x, 0), y), r"only of log_softmax over the classes"),
    (lambda m, x, y: F.nll_loss(F.log_softmax(x, -1), y, reduction="sum"), r"reduction='mean' only"),
    (lambda m, x, y: (F.cross_entropy(x, y, reduction="none") * (y != 0)).sum() / (y != 0).sum(),
     r"reduction='mean' only"),
])
def test_losses_the_catalog_cannot_hold_are_errors_saying_why(function, message):
    with pytest.raises(ExportError, match=message):
        export(function, torch.randn(6, 3), torch.tensor([0, 1, 2, 0, 1, 2]))
