/// Reads the `stages` of a `shardplan.plan/1` document in order, checking each stage against the graph, the
/// cluster and the stages before it: its ops continue where the last stage ended, its devices are the
/// cluster's and no other rank's, its mesh holds them, and every layout names tensors, dimensions and axes
/// the stage has. Every problem goes to a `DocumentProblems`, so the one a person meets first in the file is
/// reported, whichever check finds it.
///
/// Chunks of the interleaved schedule go round the pipeline ranks in turn (stage i on rank i mod R): the
/// first stage that returns to rank 0 fixes R, and a later chunk of a rank runs on that rank's devices.
struct PlanStageDecoder {
    let graph: Graph
    let cluster: Cluster
    /// The plan's microbatch count, and the path of its member when the document gives one; nil when it
    /// could not be read (then strategies are only checked, with one microbatch, the least demanding count).
    let microbatches: (count: Int, path: JSONPath?)?
    /// The graph the document names (its `graph` member), to say so where the plan's ops are not this graph's.
    let documentGraphName: String?
    private let roles: TensorRoles

    /// The stages read so far; nil for one that has a problem.
    private(set) var stages: [StageLayout?] = []
    /// The op the next stage starts at; nil once some stage's ops could not be read.
    private(set) var nextOperation: Int? = 0
    /// The pipeline ranks the chunks go round, once a stage has gone back to rank 0.
    private(set) var rankCount: Int?
    /// The ops of each stage read so far (nil where they could not be read), to say which stage holds an op.
    private var stageOperations: [Range<Int>?] = []
    /// Each rank's devices: those of its first chunk, and that chunk's index.
    private var rankDevices: [Int: (devices: Set<Int>, stage: Int)] = [:]
    private var rankOfDevice: [Int: Int] = [:]
    private var candidateMemo: [CandidateKey: [Candidate]] = [:]

    init(graph: Graph, cluster: Cluster, microbatches: (count: Int, path: JSONPath?)?, documentGraphName: String? = nil) {
        self.graph = graph
        self.cluster = cluster
        self.microbatches = microbatches
        self.documentGraphName = documentGraphName
        roles = TensorRoles(graph)
    }

    /// Every device the stages read so far run on.
    var deviceCount: Int { rankOfDevice.count }

    /// Reads stage `stages.count` from `element` at `path`.
    mutating func read(_ element: JSONValue, at path: JSONPath, problems: inout DocumentProblems) {
        let index = stages.count
        guard let stage = problems.attempt({ () throws(InputError) in try JSONReader(element, at: path, what: "a stage object") }) else {
            stages.append(nil)
            stageOperations.append(nil)
            nextOperation = nil
            return
        }
        problems.attempt { () throws(InputError) in
            if let declared = try stage.optionalInt("index"), declared != index {
                throw stage.invalid("index", "this is stage \(index) of the list, but it says it is stage \(declared); list every stage once, in pipeline order")
            }
        }
        let rank = problems.attempt { () throws(InputError) in try readRank(stage, index: index) }
        let operations = problems.attempt { () throws(InputError) in try operationRange(stage) }
        stageOperations.append(operations)
        nextOperation = operations.map(\.upperBound)
        let mesh = readMesh(stage, rank: rank, index: index, problems: &problems)
        let recompute = problems.attempt { () throws(InputError) -> RecomputeMode? in
            guard let name = try stage.optionalString("recompute") else { return nil }
            guard let mode = RecomputeMode(rawValue: name) else {
                throw stage.invalid("recompute", "unknown recomputation \"\(name)\"; known: \(RecomputeMode.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return mode
        }
        let layouts = PlanStageLayouts(stage, graph: graph, operations: operations, axes: mesh.axes, problems: &problems)
        // Strategies depend on the ops, the mesh's shape and its axis names; without the devices or the
        // microbatch count they can still be checked, though not settled.
        guard let operations, let shape = mesh.shape, mesh.axes != nil else {
            stages.append(nil)
            return
        }
        let strategies = settleStrategies(stage, operations: operations, meshShape: shape, layouts: layouts, problems: &problems)
        guard let strategies, let devices = mesh.mesh, let recompute else {
            stages.append(nil)
            return
        }
        stages.append(StageLayout(operations: operations, mesh: devices, strategies: strategies, recompute: recompute))
    }

    /// The rank stage `index` runs on: its `rank` member, or where it sits in the round of ranks.
    private mutating func readRank(_ stage: JSONReader, index: Int) throws(InputError) -> Int {
        let expected = rankCount.map { index % $0 } ?? index
        guard let declared = try stage.optionalInt("rank") else { return expected }
        if rankCount == nil && index > 0 && declared == 0 {
            rankCount = index
            return 0
        }
        guard declared == expected else {
            let rule = rankCount.map { "the chunks go round \($0) ranks in turn, so stage \(index) runs on rank \(expected)" }
                ?? (index == 0 ? "the first stage runs on rank 0"
                    : "stage \(index) runs on rank \(index) (the next rank), or on rank 0 (the first chunk of a new round of interleaved chunks)")
            throw stage.invalid("rank", "rank \(declared) is out of turn: \(rule)")
        }
        return declared
    }

    /// The contiguous op range a stage's `ops` names: ops in graph order, each once, `"..."` standing for
    /// every op between its neighbours, the first being the op after the previous stage's last.
    private func operationRange(_ stage: JSONReader) throws(InputError) -> Range<Int> {
        let path = stage.path.appending("ops")
        let names = try stage.strings("ops")
        guard names.contains(where: { $0 != "..." }) else { throw InputError(.invalidValue, at: path, "a stage lists at least one op") }
        var first: Int?
        var previous: Int?
        for (position, name) in names.enumerated() {
            let here = path.appending(index: position)
            if name == "..." {
                guard previous != nil, position + 1 < names.count, names[position + 1] != "..." else {
                    throw InputError(.invalidValue, at: here, "\"...\" stands for every op between the two ops named on either side of it")
                }
                continue
            }
            guard let value = graph.value(named: name) else {
                let otherGraph = documentGraphName.flatMap { $0 == graph.name ? nil : $0 }
                throw InputError(.undefinedName, at: here, "the graph has no op named \"\(name)\""
                                 + (otherGraph.map { "; the plan is of graph \"\($0)\", and this graph is \"\(graph.name)\"" } ?? ""))
            }
            guard let op = graph[value].operationIndex else {
                throw InputError(.invalidReference, at: here,
                                 "\"\(name)\" is a graph \(graph[value].isParameter ? "parameter" : "input"), not an op; a stage lists the ops it runs")
            }
            if let previous {
                let elided = names[position - 1] == "..."
                let previousName = graph.operations[previous].name
                if op <= previous {
                    throw InputError(.invalidValue, at: here, op == previous ? "op \"\(name)\" is listed twice"
                        : "op \"\(name)\" comes before op \"\(previousName)\" in the graph; a stage lists its ops in graph order")
                }
                if !elided && op != previous + 1 {
                    throw InputError(.invalidValue, at: here,
                                     "after op \"\(previousName)\" the graph's next op is \"\(graph.operations[previous + 1].name)\", not \"\(name)\"; write \"...\" between two ops for every op between them")
                }
                if let (owner, taken) = owner(of: previous + 1 ... op) {
                    throw InputError(.invalidValue, at: taken == op ? here : path.appending(index: position - 1),
                                     "op \"\(graph.operations[taken].name)\" is already in stage \(owner); every op is in one stage, and stages follow the graph's order")
                }
            } else {
                first = op
                try checkStart(op, named: name, at: here)
            }
            previous = op
        }
        guard let first, let previous else { throw InputError(.invalidValue, at: path, "a stage lists at least one op") }
        return first ..< previous + 1
    }

    /// That a stage starting at `op` continues where the previous stage ended. An op of an earlier stage is
    /// refused even where the previous stage's ops could not be read, so that no op is settled twice (and a
    /// document repeating a stage thousands of times costs no more than one listing every op once).
    private func checkStart(_ op: Int, named name: String, at path: JSONPath) throws(InputError) {
        if let (owner, _) = owner(of: op ... op) {
            throw InputError(.invalidValue, at: path, "op \"\(name)\" is already in stage \(owner); every op is in one stage, and stages follow the graph's order")
        }
        guard let expected = nextOperation, op != expected else { return }
        if expected == graph.operations.count {
            throw InputError(.invalidValue, at: path, "the stages before this one already cover every op of the graph, up to op \"\(graph.operations[expected - 1].name)\"")
        }
        throw InputError(.invalidValue, at: path,
                         "the stage starts at op \"\(name)\", but op \"\(graph.operations[expected].name)\" comes next; stages cover every op once, in graph order")
    }

    /// The first earlier stage that holds one of `operations`, and the first such op.
    private func owner(of operations: ClosedRange<Int>) -> (stage: Int, operation: Int)? {
        for (stage, range) in stageOperations.enumerated() {
            guard let range, range.overlaps(operations) else { continue }
            return (stage, max(range.lowerBound, operations.lowerBound))
        }
        return nil
    }

    /// The stage's `devices`, `mesh` and `axes`, and the mesh they make when all three are sound.
    private mutating func readMesh(_ stage: JSONReader, rank: Int?, index: Int,
                                   problems: inout DocumentProblems) -> (mesh: DeviceMesh?, shape: [Int]?, axes: (names: [String], path: JSONPath)?) {
        let devicesPath = stage.path.appending("devices"), shapePath = stage.path.appending("mesh"), axesPath = stage.path.appending("axes")
        var devices = problems.attempt { () throws(InputError) in try stage.ints("devices") }
        if let list = devices {
            let rankPath: [JSONPath] = stage.contains("rank") ? [stage.path.appending("rank")] : []
            // A later chunk of a rank runs on the devices of its first; a first chunk on devices no other rank has.
            let owned = rank.flatMap { rankDevices[$0] }
            var seen = Set<Int>()
            for (position, id) in list.enumerated() {
                let here = devicesPath.appending(index: position)
                if !cluster.deviceIDs.contains(id) {
                    problems.record(InputError(.invalidReference, at: here,
                                               "device \(id) is not in cluster \"\(cluster.name)\", whose devices are 0 ..< \(cluster.deviceCount)"))
                    devices = nil
                } else if !seen.insert(id).inserted {
                    problems.record(InputError(.invalidValue, at: here, "device \(id) is listed twice"))
                    devices = nil
                } else if let rank, owned == nil, let other = rankOfDevice[id], other != rank {
                    problems.record(InputError(.invalidValue, at: problems.latest([here] + rankPath),
                                               "device \(id) already runs rank \(other) (stage \(rankDevices[other]?.stage ?? other)); pipeline ranks run on disjoint devices"))
                    devices = nil
                }
            }
            if list.isEmpty {
                problems.record(InputError(.invalidValue, at: devicesPath, "a stage runs on at least one device"))
                devices = nil
            }
            if let rank, let owned, devices != nil, Set(list) != owned.devices {
                problems.record(InputError(.invalidValue, at: problems.latest([devicesPath] + rankPath),
                                           "stage \(index) is another chunk of rank \(rank), so it runs on that rank's devices, those of stage \(owned.stage): \(owned.devices.sorted())"))
                devices = nil
            }
            if let rank, owned == nil, let list = devices {
                rankDevices[rank] = (Set(list), index)
                for id in list { rankOfDevice[id] = rank }
            }
        }
        let shape = problems.attempt { () throws(InputError) -> [Int] in
            let shape = try stage.ints("mesh")
            guard (1 ... DeviceMesh.maximumRank).contains(shape.count) else {
                throw stage.invalid("mesh", "a mesh has 1 to \(DeviceMesh.maximumRank) axes, found \(shape.count)")
            }
            if let position = shape.firstIndex(where: { $0 < 1 }) {
                throw InputError(.invalidValue, at: shapePath.appending(index: position), "every mesh axis holds at least one device, found \(shape[position])")
            }
            guard let capacity = TensorType.checkedElementCount(shape), capacity <= cluster.deviceCount else {
                throw stage.invalid("mesh", "mesh shape \(shape) holds more devices than cluster \"\(cluster.name)\" has (\(cluster.deviceCount))")
            }
            return shape
        }
        if let sizes = shape, let list = devices {
            let capacity = TensorType.checkedElementCount(sizes)
            if capacity != list.count {
                problems.record(InputError(.invalidValue, at: problems.latest([shapePath, devicesPath]),
                                           "mesh shape \(sizes) holds \(capacity.map { "\($0) device\($0 == 1 ? "" : "s")" } ?? "too many devices"), but the stage lists \(list.count)"))
                devices = nil
            }
        }
        var axes = problems.attempt { () throws(InputError) -> [String] in
            let names = try stage.strings("axes")
            for (position, name) in names.enumerated() where name.isEmpty || names[..<position].contains(name) {
                throw InputError(name.isEmpty ? .invalidValue : .duplicateName, at: axesPath.appending(index: position),
                                 name.isEmpty ? "a mesh axis needs a name" : "axis name \"\(name)\" is used twice")
            }
            return names
        }
        if let names = axes, let sizes = shape, names.count != sizes.count {
            problems.record(InputError(.invalidValue, at: problems.latest([axesPath, shapePath]),
                                       "\(names.count) axis name\(names.count == 1 ? "" : "s") for a mesh of \(sizes.count) ax\(sizes.count == 1 ? "is" : "es") (\(sizes))"))
            axes = nil
        }
        let namedAxes = axes.map { (names: $0, path: axesPath) }
        guard let list = devices, let sizes = shape, let names = axes else { return (nil, axes == nil ? nil : shape, namedAxes) }
        let mesh = problems.attempt { () throws(InputError) in
            try DeviceMesh(devices: list, shape: sizes, axisNames: names, in: cluster, at: stage.path)
        }
        return (mesh, shape, namedAxes)
    }

    /// One thing the document says that an op's strategy must honour, and the entry that says it.
    private struct Requirement {
        /// The entry (nil for what the document implies by leaving it out).
        var path: JSONPath?
        /// The statement, for messages.
        var statement: String
        var admits: (Candidate) -> Bool
    }

    /// A candidate strategy of an op, with the layouts it gives its result and operands, worked out once.
    private struct Candidate {
        var strategy: OpStrategy
        var result: ShardingSpec
        var operands: [ShardingSpec]
    }

    /// What an op's candidates depend on: ops of repeated layers share them.
    private struct CandidateKey: Hashable {
        var operation: OperationFingerprint
        var batchIndex: Int?
        var meshShape: [Int]
        var microbatches: Int
    }

    /// The candidates of `op` on a mesh of `meshShape`, remembered for the ops that share its key.
    private mutating func candidates(of op: Int, meshShape: [Int], microbatches: Int) -> [Candidate] {
        let operation = graph.operations[op]
        let key = CandidateKey(operation: OperationFingerprint(operation, in: graph), batchIndex: roles.batchIndex[op],
                               meshShape: meshShape, microbatches: microbatches)
        if let known = candidateMemo[key] { return known }
        let space = operation.indexSpace
        let found = OpStrategy.candidates(for: operation, operandShapes: operation.inputs.map { graph[$0].type.shape },
                                          resultShape: graph[operation.result].type.shape, meshShape: meshShape,
                                          batchIndex: roles.batchIndex[op], microbatches: microbatches).map { strategy in
            Candidate(strategy: strategy, result: strategy.resultSpec(in: space),
                      operands: operation.inputs.indices.map { strategy.operandSpec($0, in: space) })
        }
        candidateMemo[key] = found
        return found
    }

    /// Each op's strategy: the candidate on the mesh whose layouts match what the stage states of the op (its
    /// result's layout and partial sums, its parameters' layouts, the layouts it reads operands in); among
    /// equal matches, the one that keeps operands as their producers left them. Nil when some op has none.
    ///
    /// A statement whose entry has a problem (already recorded) is left out; a match then settles nothing,
    /// but no match at all is still a problem of its own. So is a stage whose devices or microbatch count
    /// could not be read: its strategies are checked, not settled. The problem is reported where the
    /// statements, taken in document order, first leave no strategy.
    private mutating func settleStrategies(_ stage: JSONReader, operations: Range<Int>, meshShape: [Int], layouts: PlanStageLayouts,
                                  problems: inout DocumentProblems) -> [OpStrategy]? {
        typealias Member = PlanStageLayouts
        let document = problems.document
        var resultSpecs: [ValueID: ShardingSpec] = [:]
        // For each settled result, the entry written last among those its strategy answered to.
        var resultSource: [ValueID: JSONPath] = [:]
        var strategies: [OpStrategy] = []
        // Values from outside the stage that an op before this one reads.
        var readFromOutside = Set<ValueID>()
        var settled = true
        let common = [stage.path.appending("ops"), stage.path.appending("mesh"), stage.path.appending("axes")]
        let axisNames = layouts.axisNames
        func describe(_ spec: ShardingSpec) -> String { JSONWriter.compact(spec.json(axisNames: axisNames)) }
        for op in operations {
            let operation = graph.operations[op]
            let space = operation.indexSpace
            let name = operation.name
            let microbatchCount = microbatches?.count ?? 1
            var complete = microbatches != nil
            var requirements: [Requirement] = []
            if layouts.isUnknown(Member.shardingsKey, name) || layouts.isUnknown(Member.partialSumsKey, name) {
                complete = false
            } else if let wanted = layouts.shardings[name] {
                let shardingsPath = layouts.path(Member.shardingsKey, name)
                requirements.append(Requirement(path: shardingsPath, statement: "its result's layout \(describe(wanted))") {
                    $0.result.dimensionAxes == wanted.dimensionAxes
                })
                let partial = layouts.partialSums[name] ?? []
                requirements.append(Requirement(path: layouts.path(Member.partialSumsKey, name) ?? shardingsPath,
                                                statement: partial.isEmpty ? "a result without partial sums" : "partial sums over \(partial.map { axisNames[$0] })") {
                    $0.result.partialAxes == partial
                })
            }
            let reads = layouts.isUnknown(Member.operandsKey, name) ? nil : layouts.operandLayouts[name]
            if layouts.isUnknown(Member.operandsKey, name) { complete = false }
            for (operand, input) in operation.inputs.enumerated() {
                let inputName = graph[input].name
                let isParameter = graph[input].isParameter
                let producedHere = graph[input].operationIndex.map(operations.contains) ?? false
                if producedHere && resultSpecs[input] == nil { complete = false }
                let statesLayout: Bool
                switch reads?[operand] {
                case .stated(let spec)?:
                    statesLayout = true
                    requirements.append(Requirement(path: layouts.path(Member.operandsKey, name),
                                                    statement: "operand \(operand) (\"\(inputName)\") read in layout \(describe(spec))") {
                        $0.operands[operand] == spec
                    })
                case .unknown?:
                    statesLayout = true
                    complete = false
                case .held?, nil:
                    statesLayout = false
                }
                // A value from outside the stage (a parameter, a graph input, an earlier stage's result) is held
                // in the layout its first reader in the stage reads it in, which its `shardings` entry gives: a
                // parameter is stored so, a tensor arrives so. That reader reads it so whatever its
                // `operand_shardings` entry says; a later reader may read it in another layout (BERT's tied
                // embedding table, stored as the embedding reads it, read otherwise by the output projection).
                let firstRead = !producedHere && readFromOutside.insert(input).inserted
                // Without `operand_shardings` (older documents) only parameters are held to their entry.
                guard firstRead || !statesLayout, isParameter || layouts.hasOperandLayouts else { continue }
                let held: (spec: ShardingSpec, path: JSONPath?)?
                if producedHere {
                    held = resultSpecs[input].map { ($0.reduced, resultSource[input]) }
                } else if layouts.isUnknown(Member.shardingsKey, inputName) {
                    complete = false
                    held = nil
                } else {
                    held = layouts.shardings[inputName].map { ($0.reduced, layouts.path(Member.shardingsKey, inputName)) }
                }
                if let held {
                    // A result the stage does not state was settled from what the ops before it read: say so, since the
                    // entries that settled it may lie anywhere before.
                    let settled = producedHere && layouts.shardings[inputName] == nil
                        ? " (its producer's, which the stage's shardings do not state)" : ""
                    let statement = isParameter ? "parameter \"\(inputName)\" in layout \(describe(held.spec))"
                        : "operand \(operand) (\"\(inputName)\") read in layout \(describe(held.spec))\(settled)"
                    requirements.append(Requirement(path: held.path, statement: statement) { $0.operands[operand] == held.spec })
                }
            }
            let matching = candidates(of: op, meshShape: meshShape, microbatches: microbatchCount).filter { candidate in requirements.allSatisfy { $0.admits(candidate) } }
            guard !matching.isEmpty else {
                // One microbatch admits every candidate of any count; the plan's count is a requirement of its own.
                let all = candidates(of: op, meshShape: meshShape, microbatches: 1)
                if microbatchCount > 1 {
                    let admitted = Set(candidates(of: op, meshShape: meshShape, microbatches: microbatchCount).map(\.strategy))
                    requirements.append(Requirement(path: microbatches?.path, statement: "\(microbatchCount) microbatches") {
                        admitted.contains($0.strategy)
                    })
                }
                // Taken in document order, the requirement after which no candidate is left.
                let ordered = requirements.sorted {
                    ($0.path ?? .root).documentPosition(in: document).lexicographicallyPrecedes(($1.path ?? .root).documentPosition(in: document))
                }
                var left = all
                var emptiedBy = 0
                for (position, requirement) in ordered.enumerated() where !left.isEmpty {
                    left = left.filter(requirement.admits)
                    emptiedBy = position
                }
                let last = ordered.indices.contains(emptiedBy) ? ordered[emptiedBy] : nil
                let earlier = ordered[..<min(emptiedBy, ordered.count)].map(\.statement)
                problems.record(InputError(.invalidValue, at: problems.latest(common + [last?.path].compactMap { $0 }),
                                           "no strategy of op \"\(name)\" (\(operation.op.kindName)) on mesh \(meshShape) gives \(last?.statement ?? "any layout")"
                                           + (earlier.isEmpty ? "" : " together with " + earlier.joined(separator: ", "))))
                settled = false
                continue
            }
            guard complete else {
                settled = false
                continue
            }
            // Among equal matches, keep operands as their producers left them.
            func agreement(_ candidate: Candidate) -> Int {
                operation.inputs.enumerated().filter { operand, input in
                    resultSpecs[input].map { candidate.operands[operand] == $0.reduced } ?? false
                }.count
            }
            guard var chosen = matching.max(by: { agreement($0) < agreement($1) })?.strategy else { continue }
            chosen.zeroStage = operation.inputs.filter { graph[$0].isParameter }.map { layouts.zeroStages[graph[$0].name] ?? 0 }.max() ?? 0
            strategies.append(chosen)
            resultSpecs[operation.result] = chosen.resultSpec(in: space)
            resultSource[operation.result] = problems.latest(common + requirements.compactMap(\.path) + operation.inputs.compactMap { resultSource[$0] })
        }
        return settled ? strategies : nil
    }
}
