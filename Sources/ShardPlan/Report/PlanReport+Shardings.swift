extension PlanReport {
    /// Every stage's ops with the mesh axes each splits and the layout of its result, in a collapsible block
    /// per stage, an op a graph rewrite made marked with its rule. Consecutive layers with the same structure and
    /// the same shardings are shown once (GPT-3's 96 blocks become a few), so the table grows with the model's
    /// distinct layers, not its depth.
    var shardingSection: String {
        let graph = plan.graph
        let layers = GraphAnalysis(graph).layers
        let tensorRoles = TensorRoles(graph)
        var ruleOfOperation: [String: String] = [:]
        for rewrite in plan.rewrites {
            for operation in rewrite.addedOperations { ruleOfOperation[operation.name] = rewrite.rule }
        }
        var html = "<p class=\"caption\" style=\"margin:0 0 6px\">Each op's strategy maps mesh axes to the index of its iteration space "
            + "they split (— replicates); the result's layout gives, per dimension, the axes it is split over (JAX's PartitionSpec). "
            + "ZeRO marks parameters whose training state is sharded."
            + (plan.rewrites.isEmpty ? "" : " The plan runs the model's graph after its graph rewrites (\(HTMLText.escape(plan.rewriteCounts)); "
                + "Docs/rewrites.md): an op a rewrite made is marked with the rewrite's rule.")
            + "</p>\n"
        for (index, stage) in plan.stages.enumerated() {
            let rank = plan.rank(ofStage: index)
            let groups = Self.layerGroups(stage, layers: layers)
            let layerCount = groups.reduce(0) { $0 + $1.layers.count }
            let shardsState = MegatronSummary.roles(of: stage, graph: graph, roles: tensorRoles).shardsTrainingState
            // Each op's ZeRO stage: the highest of the parameters it stores that have data-parallel devices to shard over.
            var zeroStageOfOperation: [Int: Int] = [:]
            for stored in stage.storedParameters(in: graph, planStage: plan.options.zeroStage) where stored.isDataParallel && shardsState {
                zeroStageOfOperation[stored.operation] = max(zeroStageOfOperation[stored.operation] ?? 0, stored.zeroStage)
            }
            html += "<details\(index == 0 ? " open" : "") class=\"stage\"><summary><span class=\"swatch\" style=\"background:\(Self.rankColor(rank, of: plan.pipelineRanks))\"></span>"
                + "stage \(index)\(plan.pipelineRanks != plan.stages.count ? " (rank \(rank))" : ""): \(HTMLText.count(stage.operations.count)) ops in \(layerCount) layer\(layerCount == 1 ? "" : "s"), "
                + "mesh \(stage.mesh.shape.map(String.init).joined(separator: "×")) on \(DeviceListText.describe(stage.mesh.devices))"
                + (stage.recompute.map { ", recompute \(plan.options.recomputeName($0))" } ?? "") + "</summary><div>\n"
            html += "<table class=\"shardings\"><thead><tr><th>op</th><th>kind</th><th>result</th><th>strategy</th><th class=\"layout\">result layout</th></tr></thead><tbody>\n"
            for group in groups {
                let first = group.layers[0], last = group.layers[group.layers.count - 1]
                let name = group.layers.count == 1 ? first.name : "\(first.name) … \(last.name)"
                html += "<tr class=\"layer\"><td colspan=\"5\"><b>\(HTMLText.escape(name))</b>"
                    + (group.layers.count > 1 ? " · \(group.layers.count) identical layers with the same shardings, shown once" : "") + "</td></tr>\n"
                for op in group.operations {
                    html += operationRow(op, stage: stage, zeroStage: zeroStageOfOperation[op] ?? 0, rewrittenBy: ruleOfOperation[graph.operations[op].name])
                }
            }
            html += "</tbody></table></div></details>\n"
        }
        return html
    }

    /// The stage's ops grouped into runs of consecutive layers with the same structure and shardings; each group
    /// keeps its layers and the ops of its first layer (clipped to the stage).
    static func layerGroups(_ stage: StageLayout, layers: [Layer]) -> [(layers: [Layer], operations: Range<Int>)] {
        var groups: [(layers: [Layer], operations: Range<Int>, strategies: ArraySlice<OpStrategy>)] = []
        for layer in layers {
            let lower = max(layer.operations.lowerBound, stage.operations.lowerBound)
            let upper = min(layer.operations.upperBound, stage.operations.upperBound)
            guard lower < upper else { continue }
            let range = lower ..< upper
            let strategies = stage.strategies[(lower - stage.operations.lowerBound) ..< (upper - stage.operations.lowerBound)]
            // A whole layer joins the group before it when it has the same structure and the same strategies.
            if let last = groups.last, range == layer.operations, last.layers[0].structureKey == layer.structureKey,
               range.count == last.operations.count, Array(last.strategies) == Array(strategies) {
                groups[groups.count - 1].layers.append(layer)
            } else {
                groups.append(([layer], range, strategies))
            }
        }
        return groups.map { ($0.layers, $0.operations) }
    }

    /// An op's row, with `zeroStage` where it is not 0: that of the parameters the op stores whose state ZeRO shards
    /// (`StageLayout.storedParameters(in:planStage:)`, in a stage with devices to shard over:
    /// `MegatronSummary.Roles.shardsTrainingState`); `rule` is that of the graph rewrite that made the op, if one did.
    private func operationRow(_ op: Int, stage: StageLayout, zeroStage: Int, rewrittenBy rule: String?) -> String {
        let graph = plan.graph
        let operation = graph.operations[op]
        let space = operation.indexSpace
        let strategy = stage.strategy(of: op)
        let mesh = stage.mesh
        let axes = mesh.shape.indices.filter { mesh.shape[$0] > 1 }
        let split = axes.map { axis in "\(mesh.axisNames[axis])→" + (strategy.indexOfAxis[axis].map { space.indices[$0].name } ?? "—") }
        var strategyText = split.isEmpty ? "one device" : split.joined(separator: " ")
        if zeroStage > 0 { strategyText += " · ZeRO-\(zeroStage)" }
        let layout = strategy.resultSpec(in: space).reduced.dimensionAxes.map { dims in
            dims.isEmpty ? "—" : dims.map { mesh.axisNames[$0] }.joined(separator: "+")
        }
        let shape = graph[operation.result].type.shape.map(String.init).joined(separator: "×")
        return "<tr><td><code>\(HTMLText.escape(operation.name))</code></td><td>\(HTMLText.escape(operation.op.kindName))"
            + (rule.map { " <span class=\"rewrite\">· \(HTMLText.escape($0))</span>" } ?? "") + "</td>"
            + "<td><code>\(shape.isEmpty ? "scalar" : shape)</code></td><td><code>\(HTMLText.escape(strategyText))</code></td>"
            + "<td class=\"layout\"><code>(\(layout.joined(separator: ", ")))</code></td></tr>\n"
    }
}
