extension TrainingPlan {
    /// Reads a `shardplan.plan/1` document back into a plan of `graph` on `cluster`, so that `score --plan`
    /// can price a saved or hand-edited plan with the same model.
    ///
    /// Each op's strategy is the one whose layouts match the document: its result's `shardings` entry and
    /// `partial_sums`, the layouts of the parameters it stores, and its `zero_stages`; among strategies that
    /// match equally, the one that keeps its operands as their producers left them. A stage with
    /// `operand_shardings` settles that choice instead: an op reads each operand in the layout its entry
    /// there gives, or, where it gives none, in the layout the stage holds the value in (its producer's
    /// result, reduced; its `shardings` entry for a parameter or a value from outside the stage). An op the
    /// document does not describe follows its producers the same way. `ops` may use `"..."` for every op between its
    /// neighbours, as in SPEC section 4's example.
    public init(json: JSONValue, graph: Graph, cluster: Cluster, clusterName: String) throws(InputError) {
        let top = try JSONReader(json, at: .root, what: "a plan object")
        let format = try top.string("format")
        guard format == Self.formatName else {
            throw InputError(.unsupportedFormat, at: .root.appending("format"), "unknown format \"\(format)\"; this version reads \"\(Self.formatName)\"")
        }
        let microbatches = try top.optionalInt("microbatches") ?? 1
        guard microbatches >= 1 else { throw top.invalid("microbatches", "microbatches must be at least 1") }
        let scheduleName = try top.optionalString("schedule") ?? PipelineSchedule.oneForwardOneBackward.rawValue
        guard let schedule = PipelineSchedule(rawValue: scheduleName) else {
            throw top.invalid("schedule", "unknown schedule \"\(scheduleName)\"; known: gpipe, 1f1b, interleaved-1f1b")
        }
        var options = TrainingOptions()
        if top.contains("options") {
            let reader = try top.reader("options")
            if let name = try reader.optionalString("recompute") {
                guard let mode = RecomputeMode(rawValue: name) else { throw reader.invalid("recompute", "unknown recomputation \"\(name)\"") }
                options.recompute = mode
            }
            options.zeroStage = try reader.optionalInt("zero_stage") ?? 0
            options.overlapGradientReduction = try reader.optionalBool("overlap_gradient_reduction") ?? false
            options.overlapTensorParallelCommunication = try reader.optionalBool("overlap_tensor_parallel_communication") ?? false
            if let name = try reader.optionalString("precision") {
                guard let precision = MatmulPrecision(rawValue: name) else {
                    throw reader.invalid("precision", "unknown precision \"\(name)\"; known: \(MatmulPrecision.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                options.precision = precision
            }
            if let name = try reader.optionalString("fp8_recipe") {
                guard let recipe = FP8Recipe(rawValue: name) else {
                    throw reader.invalid("fp8_recipe", "unknown FP8 recipe \"\(name)\"; known: \(FP8Recipe.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                options.fp8Recipe = recipe
            }
        }
        let roles = TensorRoles(graph)
        var resultSpecs: [ValueID: ShardingSpec] = [:]
        var stages: [StageLayout] = []
        var ranks = Set<Int>()
        var nextOp = 0
        for (index, element) in try top.array("stages").enumerated() {
            let stage = try JSONReader(element, at: .root.appending("stages").appending(index: index))
            let operations = try Self.operationRange(try stage.strings("ops"), graph: graph, from: nextOp, at: stage.path.appending("ops"))
            nextOp = operations.upperBound
            let axes = try stage.strings("axes")
            let mesh = try DeviceMesh(devices: try stage.ints("devices"), shape: try stage.ints("mesh"), axisNames: axes,
                                      in: cluster, at: stage.path)
            ranks.insert(try stage.optionalInt("rank") ?? index)
            let shardings = stage.contains("shardings") ? try stage.reader("shardings") : nil
            let partial = stage.contains("partial_sums") ? try stage.reader("partial_sums") : nil
            let zero = stage.contains("zero_stages") ? try stage.reader("zero_stages") : nil
            let reads = stage.contains("operand_shardings") ? try stage.reader("operand_shardings") : nil
            func layout(_ value: JSONValue, rank: Int, at path: JSONPath) throws(InputError) -> ShardingSpec {
                guard case .array(let entries) = value, entries.count == rank else {
                    throw InputError(.invalidValue, at: path, "expected one entry per dimension (\(rank))")
                }
                var dimensions: [[Int]] = []
                for (dimension, entry) in entries.enumerated() {
                    switch entry {
                    case .null: dimensions.append([])
                    case .array(let names):
                        var list: [Int] = []
                        for case .string(let axisName) in names {
                            guard let axis = axes.firstIndex(of: axisName) else {
                                throw InputError(.invalidReference, at: path.appending(index: dimension), "unknown mesh axis \"\(axisName)\"; the stage's axes are \(axes)")
                            }
                            list.append(axis)
                        }
                        dimensions.append(list)
                    default:
                        throw InputError(.wrongType, at: path.appending(index: dimension), "expected null or a list of axis names")
                    }
                }
                return ShardingSpec(dimensionAxes: dimensions)
            }
            func spec(_ name: String, rank: Int) throws(InputError) -> ShardingSpec? {
                guard let shardings, shardings.contains(name) else { return nil }
                var result = try layout(try shardings.value(name), rank: rank, at: shardings.path.appending(name))
                if let partial, partial.contains(name) {
                    for axisName in try partial.strings(name) {
                        guard let axis = axes.firstIndex(of: axisName) else {
                            throw InputError(.invalidReference, at: partial.path.appending(name), "unknown mesh axis \"\(axisName)\"")
                        }
                        result.partialAxes.append(axis)
                    }
                    result.partialAxes.sort()
                }
                return result
            }
            /// The layout op `operation` reads each operand in, where the stage's `operand_shardings` says.
            func operandLayouts(_ operation: Operation) throws(InputError) -> [ShardingSpec?] {
                guard let reads else { return Array(repeating: nil, count: operation.inputs.count) }
                var held: [ShardingSpec?] = []
                for input in operation.inputs {
                    if let produced = resultSpecs[input], graph[input].operationIndex.map(operations.contains) ?? false {
                        held.append(produced.reduced)
                    } else {
                        held.append(try spec(graph[input].name, rank: graph[input].type.rank)?.reduced)
                    }
                }
                guard reads.contains(operation.name) else { return held }
                let path = reads.path.appending(operation.name)
                guard case .array(let entries) = try reads.value(operation.name), entries.count == operation.inputs.count else {
                    throw InputError(.invalidValue, at: path, "expected one entry per operand (\(operation.inputs.count)): null or a layout")
                }
                var result: [ShardingSpec?] = []
                for (operand, entry) in entries.enumerated() {
                    if case .null = entry {
                        result.append(held[operand])
                    } else {
                        let input = operation.inputs[operand]
                        result.append(try layout(entry, rank: graph[input].type.rank, at: path.appending(index: operand)))
                    }
                }
                return result
            }
            var strategies: [OpStrategy] = []
            for op in operations {
                let operation = graph.operations[op]
                let space = operation.indexSpace
                let wantedResult = try spec(operation.name, rank: graph[operation.result].type.rank)
                var wantedParameters: [(operand: Int, spec: ShardingSpec)] = []
                for (operand, input) in operation.inputs.enumerated() where graph[input].isParameter {
                    if let wanted = try spec(graph[input].name, rank: graph[input].type.rank) { wantedParameters.append((operand, wanted)) }
                }
                var zeroStage = 0
                for input in operation.inputs where graph[input].isParameter {
                    if let zero, zero.contains(graph[input].name) { zeroStage = max(zeroStage, try zero.int(graph[input].name)) }
                }
                let candidates = OpStrategy.candidates(
                    for: operation, operandShapes: operation.inputs.map { graph[$0].type.shape },
                    resultShape: graph[operation.result].type.shape, meshShape: mesh.shape,
                    batchIndex: roles.batchIndex[op], microbatches: microbatches)
                let wantedOperands = try operandLayouts(operation)
                let matching = candidates.filter { candidate in
                    (wantedResult.map { candidate.resultSpec(in: space).hasSameAxes(as: $0) } ?? true)
                        && wantedParameters.allSatisfy { candidate.operandSpec($0.operand, in: space) == $0.spec }
                        && wantedOperands.indices.allSatisfy { operand in
                            wantedOperands[operand].map { candidate.operandSpec(operand, in: space) == $0 } ?? true
                        }
                }
                // Among equal matches, keep operands as their producers left them.
                func agreement(_ candidate: OpStrategy) -> Int {
                    operation.inputs.enumerated().filter { operand, input in
                        resultSpecs[input].map { candidate.operandSpec(operand, in: space) == $0.reduced } ?? false
                    }.count
                }
                guard var chosen = matching.max(by: { agreement($0) < agreement($1) }) else {
                    throw InputError(.invalidValue, at: stage.path.appending("shardings").appending(operation.name),
                                     "no strategy of op \"\(operation.name)\" (\(operation.op.kindName)) gives these layouts on mesh \(mesh.shape)")
                }
                chosen.zeroStage = zeroStage
                strategies.append(chosen)
                resultSpecs[operation.result] = chosen.resultSpec(in: space)
            }
            var recompute: RecomputeMode?
            if let name = try stage.optionalString("recompute") {
                guard let mode = RecomputeMode(rawValue: name) else { throw stage.invalid("recompute", "unknown recomputation \"\(name)\"") }
                recompute = mode
            }
            stages.append(StageLayout(operations: operations, mesh: mesh, strategies: strategies, recompute: recompute))
        }
        guard nextOp == graph.operations.count else {
            throw InputError(.invalidValue, at: .root.appending("stages"),
                             "the stages cover \(nextOp) of the graph's \(graph.operations.count) ops; op \"\(graph.operations[nextOp].name)\" is in none")
        }
        let pipelineRanks = max(ranks.count, 1)
        self.init(graph: graph, cluster: cluster, clusterName: clusterName, stages: stages, pipelineRanks: pipelineRanks,
                  virtualStages: try top.optionalInt("virtual_stages") ?? max(stages.count / pipelineRanks, 1),
                  schedule: schedule, microbatches: microbatches, options: options,
                  summary: try top.optionalString("summary"))
    }

    /// The contiguous op range a stage's `ops` list names, starting at op `first`.
    private static func operationRange(_ names: [String], graph: Graph, from first: Int, at path: JSONPath) throws(InputError) -> Range<Int> {
        guard let last = names.last(where: { $0 != "..." }), let firstName = names.first(where: { $0 != "..." }) else {
            throw InputError(.invalidValue, at: path, "a stage lists at least one op")
        }
        guard let start = graph.value(named: firstName).flatMap({ graph[$0].operationIndex }),
              let end = graph.value(named: last).flatMap({ graph[$0].operationIndex }), start <= end else {
            throw InputError(.undefinedName, at: path, "the ops \"\(firstName)\" ... \"\(last)\" are not ops of the graph in order")
        }
        guard start == first else {
            throw InputError(.invalidValue, at: path, "the stage starts at op \"\(firstName)\", but op \"\(graph.operations[first].name)\" comes next; stages cover every op once, in graph order")
        }
        return start ..< end + 1
    }
}
