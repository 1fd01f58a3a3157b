import ShardPlan

// Build a graph in code (or decode JSON with Graph(jsonBytes:document:)): a two-layer MLP, batch of 1,024.
var builder = GraphBuilder(name: "mlp-2")
let x = try builder.input("x", [1024, 4096], .bf16)
let w1 = try builder.parameter("w1", [4096, 16384])
let w2 = try builder.parameter("w2", [16384, 4096])
let h = try builder.einsum("h", "bd,df->bf", x, w1)
let a = try builder.unary("a", .gelu, h)
let y = try builder.einsum("y", "bf,fd->bd", a, w2)
let loss = try builder.add("loss", .reduce(.mean, axes: [0, 1], keepDimensions: false), [y])
builder.output(loss)
let graph = try builder.build()

// What it holds.
let analysis = GraphAnalysis(graph)
print("\(analysis.parameterCount) parameters, \(Int(analysis.forwardFLOPs)) forward FLOPs per iteration")

// Plan it on one DGX A100 node: pipeline stages, each stage's mesh, every op's sharding, the microbatches.
let cluster = try Cluster.preset(named: "dgx-a100-80g:1")
let planner = PipelinePlanner(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1")
let found = try planner.plan()
let (plan, prediction) = (found.plan, found.prediction)
print(prediction.textReport(for: plan))

// Score Megatron-LM's layout with the same cost model: tensor parallelism over the node, the whole batch
// in one microbatch (no pipeline, so no bubble to hide).
let megatron = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-a100-80g:1",
                                         configuration: MegatronConfiguration(tensorParallel: 8, pipelineParallel: 1,
                                                                              microBatchSize: 1024))
print(PlanEvaluator(cluster: cluster).evaluate(megatron).textReport(for: megatron))
