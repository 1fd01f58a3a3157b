import Testing
@testable import ShardPlan

/// Two nodes of 8 devices with round figures and no efficiency loss: NVLink 300 GB/s and 3 us a step, network
/// 25 GB/s a device and 10 us a step.
private let roundCluster = Cluster(
    name: "round", nodes: 2, devicesPerNode: 8,
    device: DeviceSpec(name: "test", memoryBytes: 80 * 1_073_741_824, peakFLOPsPerSecond: [.bf16: 300e12], memoryBandwidth: 2e12),
    intraNode: LinkSpec(bandwidth: 300e9, latency: 3e-6, collectiveEfficiency: 1),
    interNode: LinkSpec(bandwidth: 25e9, latency: 10e-6, collectiveEfficiency: 1))

private func close(_ actual: Double, _ expected: Double) -> Bool {
    abs(actual - expected) <= 1e-12 + 1e-9 * abs(expected)
}

/// Qwen3-30B-A3B's routing: each token to 8 of 128 experts.
private let qwenRouting = TokenDispatch(experts: 128, topK: 8, deduplicates: true)

@Suite("Token dispatch")
struct TokenDispatchCostTests {
    @Test("a token misses a rank of 16 of 128 experts with chance 112/128 x 111/127 x ... x 105/121 = 0.3326 when it picks 8")
    func missChance() {
        #expect(abs(qwenRouting.missChance(held: 16) - 0.332_580_388) < 1e-9)
        #expect(TokenDispatch(experts: 8, topK: 2).missChance(held: 2) == 6.0 / 8 * 5 / 7)
        #expect(TokenDispatch(experts: 8, topK: 2).missChance(held: 8) == 0, "a node that holds every expert is always reached")
    }

    /// 16 devices over 2 nodes re-split 1.6 GB (100 MB a device): 8/16 of it leaves through the device's NIC (2 ms
    /// at 25 GB/s) while 7/16 crosses NVLink (0.146 ms at 300 GB/s); 7 steps of 3 us and 8 of 10 us.
    @Test("NCCL's all-to-all across nodes: the remote share through the NIC beside the local share over NVLink, 2.101 ms")
    func allToAllAcrossNodes() {
        let group = roundCluster.collectiveGroup(devices: 0 ..< 16)
        #expect(close(group.allToAllSeconds(bytes: 1.6e9), 0.5 * 1e8 / 25e9 + 7 * 3e-6 + 8 * 10e-6))
        #expect(close(group.allToAllSeconds(bytes: 1.6e9), 2.101e-3))
    }

    /// 8 devices of one node, 100 MB of permuted tokens a device (8 copies of 12.5 MB): each token reaches
    /// 8 x (1 - 0.3326) = 5.34 ranks, 7/8 of them others: 12.5 MB x 7 x 0.6674 = 58.4 MB at 300 GB/s, 194.7 us, and 7
    /// steps of 3 us, against the all-to-all's 7/8 x 100 MB, 291.7 us.
    @Test("DeepEP inside a node sends a token once to each other rank that holds one of its experts: 215.7 us against 312.7 us")
    func deduplicatedInsideANode() {
        let node = roundCluster.collectiveGroup(devices: 0 ..< 8)
        let tokenBytes = 1e8 / 8
        let expected = tokenBytes * 7 * (1 - 0.332_580_388_077) / 300e9 + 7 * 3e-6
        #expect(close(node.deduplicatedAllToAllSeconds(bytes: 8e8, dispatch: qwenRouting), expected))
        #expect(abs(node.deduplicatedAllToAllSeconds(bytes: 8e8, dispatch: qwenRouting) - 215.664e-6) < 0.001e-6)
        #expect(close(node.allToAllSeconds(bytes: 8e8), 7.0 / 8 * 1e8 / 300e9 + 7 * 3e-6))
        // One expert a rank and one expert a token: nothing to deduplicate, the all-to-all's own time.
        let single = TokenDispatch(experts: 8, topK: 1, deduplicates: true)
        #expect(close(node.deduplicatedAllToAllSeconds(bytes: 8e8, dispatch: single), node.allToAllSeconds(bytes: 8e8)))
    }

    /// 16 devices over 2 nodes, 64 experts a node: a token reaches the other node with chance 1 - 0.0031 and crosses
    /// once, 12.5 MB x 0.9969 at 25 GB/s = 498.5 us; over NVLink it reaches 16 x (1 - 0.5877) = 6.60 ranks, 7/8 of
    /// them forwarded, 72.1 MB at 300 GB/s = 240.5 us, at the same time; 7 steps of 3 us and 1 of 10 us. The NCCL
    /// all-to-all sends the 4 copies bound for the other node: 2.101 ms.
    @Test("DeepEP across nodes sends a token once to each other node, forwarded over NVLink there: 529.5 us against 2.101 ms")
    func deduplicatedAcrossNodes() {
        let group = roundCluster.collectiveGroup(devices: 0 ..< 16)
        let tokenBytes = 1e8 / 8
        let network = tokenBytes * (1 - 0.003_095_864_277) / 25e9
        let forwarded = tokenBytes * 16 * (1 - 0.587_717_949_312) * 7 / 8 / 300e9
        #expect(forwarded < network)
        #expect(close(group.deduplicatedAllToAllSeconds(bytes: 1.6e9, dispatch: qwenRouting), network + 7 * 3e-6 + 10e-6))
        #expect(abs(group.deduplicatedAllToAllSeconds(bytes: 1.6e9, dispatch: qwenRouting) - 529.452e-6) < 0.001e-6)
    }

    /// Every choice of groups and then of experts, counted one by one: the shares a token reaches on average.
    private func reachedByEnumeration(experts: Int, groups: Int, chosen: Int, topK: Int, units: Int) -> Double {
        func subsets(_ items: [Int], _ size: Int) -> [[Int]] {
            guard size > 0 else { return [[]] }
            guard items.count >= size else { return [] }
            let rest = Array(items.dropFirst())
            return subsets(rest, size - 1).map { [items[0]] + $0 } + subsets(rest, size)
        }
        let groupSize = experts / groups
        var (total, cases) = (0, 0)
        for picked in subsets(Array(0 ..< groups), chosen) {
            let pool = picked.flatMap { Array($0 * groupSize ..< ($0 + 1) * groupSize) }
            for taken in subsets(pool, topK) {
                total += Set(taken.map { $0 * units / experts }).count
                cases += 1
            }
        }
        return Double(total) / Double(cases)
    }

    @Test("group-limited routing: the shares reached match every choice counted, whole groups, inside groups and across them",
          arguments: [(8, 4, 2, 2, 2), (8, 4, 2, 2, 8), (12, 3, 2, 3, 2), (12, 3, 2, 3, 4), (16, 4, 3, 4, 8)])
    func groupedReachByEnumeration(experts: Int, groups: Int, chosen: Int, topK: Int, units: Int) {
        let dispatch = TokenDispatch(experts: experts, topK: topK, groups: ExpertGroups(count: groups, chosen: chosen))
        let counted = reachedByEnumeration(experts: experts, groups: groups, chosen: chosen, topK: topK, units: units)
        #expect(abs(dispatch.reachedShares(of: units) - counted) < 1e-9, "\(dispatch.reachedShares(of: units)) against \(counted)")
    }

    /// DeepSeek-V3: 256 experts in 8 groups, 8 of them from the best 4. On 8 nodes of 32 experts (a group each) a
    /// token reaches a node with chance 4/8 x (1 - 96/128 x 95/127 x ... x 89/121) = 0.4536: 3.629 nodes, where
    /// without the groups it would reach 8 x (1 - 224/256 x ... x 217/249) = 5.295; on 64 ranks of 4 experts,
    /// 64 x 4/8 x (1 - 124/128 x ... x 117/121) = 7.359 ranks.
    @Test("DeepSeek-V3's node-limited routing: 3.629 of 8 nodes reached, not 5.295; 7.359 of 64 ranks")
    func deepSeekNodeLimit() {
        let grouped = TokenDispatch(experts: 256, topK: 8, deduplicates: true, groups: ExpertGroups(count: 8, chosen: 4))
        let free = TokenDispatch(experts: 256, topK: 8, deduplicates: true)
        #expect(abs(grouped.reachedShares(of: 8) - 3.629_010_924) < 1e-8)
        #expect(abs(free.reachedShares(of: 8) - 5.294_652_000) < 1e-8)
        #expect(abs(grouped.reachedShares(of: 64) - 7.359_370_079) < 1e-8)
        #expect(grouped.reachedShares(of: 1) == 1 && free.reachedShares(of: 1) == 1)
        // Shares spanning many whole groups count them by how many a token picks, not subset by subset: 64 groups
        // of 2 over 2 shares of 32 whole groups answer at once. A share holding j of the 8 chosen groups (chance
        // C(32, j) C(32, 8 - j) / C(64, 8)) holds 2j of the 16 experts the token draws 8 from, and is missed with
        // chance C(16 - 2j, 8) / C(16, 8): in all, 0.012772, so 2 x 0.987228 = 1.974456 shares.
        let fine = TokenDispatch(experts: 128, topK: 8, groups: ExpertGroups(count: 64, chosen: 8))
        #expect(abs(fine.reachedShares(of: 2) - 1.974_456_331_479) < 1e-9)
        // Across 8 nodes of the round cluster's shape, the network carries the reached nodes' share less the own node's.
        let cluster = Cluster(name: "eight", nodes: 8, devicesPerNode: 8, device: roundCluster.device,
                              intraNode: roundCluster.intraNode, interNode: roundCluster.interNode)
        let group = cluster.collectiveGroup(devices: 0 ..< 64)
        let tokenBytes = 1e8 / 8
        let network = tokenBytes * 3.629_010_924 * 7 / 8 / 25e9
        #expect(abs(group.deduplicatedAllToAllSeconds(bytes: 6.4e9, dispatch: grouped) - (network + 7 * 3e-6 + 7 * 10e-6)) < 1e-9)
    }

    /// `merge-parallel-contractions` writes each layer's gate and up GEMMs as one (`ebcd,edaf->ebcaf`) and slices its
    /// halves: the tokens still pass from one expert GEMM to the next, so the routing, the dispatch's price and what
    /// norm-act reruns are the graph's as given.
    @Test("merging the experts' gate and up GEMMs changes neither the routing, DeepEP's all-to-alls nor norm-act's reruns")
    func mergedExpertGEMMs() throws {
        let moe = try #require(ModelCatalog.model(id: "moe-tiny")).build()
        let (merged, applied) = try moe.rewritingEverywhere(with: [(.mergeParallelContractions, nil)])
        #expect(applied.contains { $0.anchors.contains("h0.mlp.experts.gate") }, "\(applied.map(\.anchors))")
        let dispatched = { (graph: Graph) in
            Set(TensorRoles(graph).dispatchedTokens.enumerated().compactMap { $0.element == nil ? nil : graph.values[$0.offset].name })
        }
        #expect(dispatched(merged) == dispatched(moe), "\(dispatched(merged).symmetricDifference(dispatched(moe)))")
        #expect(Set(TensorRoles(merged).dispatchedTokens.compactMap { $0 }) == Set(TensorRoles(moe).dispatchedTokens.compactMap { $0 }))
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        let allToAll = { (graph: Graph) throws -> Double in
            var options = TrainingOptions(recompute: .normAct)
            options.expertDispatcher = .deepEP
            let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1",
                                                 configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8,
                                                                                      expertParallel: 8, options: options))
            return PlanEvaluator(cluster: cluster).evaluate(plan).stageCosts[0].communicationSeconds[.allToAll] ?? 0
        }
        #expect(try allToAll(moe) > 0)
        #expect(abs(try allToAll(merged) - allToAll(moe)) <= 1e-12 * (try allToAll(moe)))
        let reruns = { (graph: Graph) in
            Set(StageCostModel(graph: graph, kernels: KernelModel(device: cluster.device), options: TrainingOptions(recompute: .normAct),
                               microbatches: 1).operatorRecomputation.map { graph.operations[$0].name })
        }
        #expect(reruns(merged) == reruns(moe))
    }

    @Test("a dispatch under a deduplicating dispatcher marks its all-to-alls, which the mesh prices so; other collectives stay NCCL's")
    func reshardingMarksTheDispatch() throws {
        let source = ShardingSpec(dimensionAxes: [[0, 1], [2], []]), target = ShardingSpec(dimensionAxes: [[0], [], [1, 2]])
        let plain = Resharding.collectives(from: source, to: target, elementCount: 16384, bytesPerElement: 4, meshShape: [2, 2, 2, 2],
                                           dispatch: TokenDispatch(experts: 8, topK: 2))
        let deduplicating = TokenDispatch(experts: 8, topK: 2, deduplicates: true)
        let marked = Resharding.collectives(from: source, to: target, elementCount: 16384, bytesPerElement: 4, meshShape: [2, 2, 2, 2],
                                            dispatch: deduplicating)
        #expect(plain == [Collective(.allToAll, axes: [1, 2], bytes: 8192)])
        #expect(marked == [Collective(.allToAll, axes: [1, 2], bytes: 8192, dispatch: deduplicating)])
        let mesh = try DeviceMesh(devices: Array(0 ..< 16), shape: [2, 2, 2, 2], in: roundCluster)
        let group = mesh.collectiveGroup(alongAxes: [1, 2])
        #expect(close(mesh.seconds(for: marked[0]), group.deduplicatedAllToAllSeconds(bytes: 4 * 8192, dispatch: deduplicating)))
        #expect(close(mesh.seconds(for: plain[0]), group.allToAllSeconds(bytes: 4 * 8192)))
        // A layout change that is not a dispatch carries no routing.
        #expect(Resharding.collectives(from: source, to: target, elementCount: 16384, bytesPerElement: 4, meshShape: [2, 2, 2, 2])
            .allSatisfy { $0.dispatch == nil })
    }
}

/// Group-limited routing in a graph document: the `expert_groups` and `group_top_k` of a router's top-k slice.
@Suite("Expert groups in a graph document")
struct ExpertGroupsDocumentTests {
    static func document(slice: String) -> String {
        """
        {"format": "shardplan.graph/1", "name": "g",
         "inputs": [{"name": "scores", "shape": [2, 16, 256], "dtype": "bf16"}],
         "ops": [\(slice)], "outputs": ["top_k"]}
        """
    }

    @Test("a top-k slice's expert groups round-trip through JSON, are written only when set, and reach the token dispatch")
    func roundTrip() throws {
        let text = Self.document(slice: #"{"name": "top_k", "op": "slice", "axis": 2, "start": 0, "end": 8, "expert_groups": 8, "group_top_k": 4, "inputs": ["scores"]}"#)
        let graph = try Graph(jsonBytes: Array(text.utf8))
        #expect(graph.operations[0].op == .slice(axis: 2, start: 0, end: 8, groups: ExpertGroups(count: 8, chosen: 4)))
        #expect(graph.jsonText.contains(#""expert_groups": 8, "group_top_k": 4"#))
        #expect(try Graph(jsonBytes: Array(graph.jsonText.utf8)).operations[0].op == graph.operations[0].op)
        let plain = try Graph(jsonBytes: Array(Self.document(slice: #"{"name": "top_k", "op": "slice", "axis": 2, "start": 0, "end": 8, "inputs": ["scores"]}"#).utf8))
        #expect(!plain.jsonText.contains("expert_groups"))
        // DeepSeek-V3's graph carries them to every MoE layer's routing.
        let deepSeek = try BuiltModels.graph("deepseek-v3")
        let roles = TensorRoles(deepSeek)
        let routings = Set(roles.dispatchedTokens.compactMap { $0 })
        #expect(routings == [TokenDispatch(experts: 256, topK: 8, groups: ExpertGroups(count: 8, chosen: 4))])
    }

    @Test("Megatron-LM, NeMo and Megatron-Bridge are told the group-limited routing the dispatch is priced with")
    func exports() throws {
        var configuration = try #require(ModelCatalog.model(id: "moe-tiny")?.transformer)
        configuration.mixtureOfExperts?.groups = ExpertGroups(count: 4, chosen: 2)
        let graph = try TransformerBuilder(name: "moe-tiny-grouped", configuration: configuration).build()
        let cluster = try Cluster.preset(named: "dgx-h100:1")
        var options = TrainingOptions()
        options.expertDispatcher = .deepEP
        let plan = try TrainingPlan.megatron(graph: graph, cluster: cluster, clusterName: "dgx-h100:1",
                                             configuration: MegatronConfiguration(tensorParallel: 1, pipelineParallel: 1, dataParallel: 8,
                                                                                  expertParallel: 4, options: options))
        let recognition = try LayoutRecognition(plan)
        let prediction = PlanEvaluator(cluster: cluster).evaluate(plan)
        let text = { (framework: TrainingFramework) in
            try FrameworkExport(recognition: recognition, of: plan, prediction: prediction, framework: framework).text
        }
        let megatron = try text(.megatron), nemo = try text(.nemo), bridge = try text(.megatronBridge)
        #expect(megatron.contains("    --moe-router-num-groups 4 \\\n    --moe-router-group-topk 2 \\\n"), "\(megatron)")
        #expect(nemo.contains("model.config.moe_router_num_groups=4") && nemo.contains("model.config.moe_router_group_topk=2"), "\(nemo)")
        #expect(bridge.contains("    cfg.model.moe_router_num_groups = 4\n") && bridge.contains("    cfg.model.moe_router_group_topk = 2\n"), "\(bridge)")
        _ = try MegatronArgumentReader(megatron).layout()
        _ = try NeMoOverrideReader(nemo).layout()
        _ = try MegatronBridgeConfigReader(bridge).layout()
        // Without groups, none of them is written.
        let plain = try ExpertParallelTests.plan().0
        let plainExport = try FrameworkExport(recognition: try LayoutRecognition(plain), of: plain,
                                              prediction: PlanEvaluator(cluster: cluster).evaluate(plain), framework: .megatron)
        #expect(!plainExport.text.contains("moe-router-num-groups"))
    }

    @Test("expert groups that are missing a member, out of range, not dividing the experts or narrower than k are refused", arguments: [
        (#""end": 8, "expert_groups": 8"#, #"ops[0] "top_k""#),
        (#""end": 8, "expert_groups": 0, "group_top_k": 1"#, #"ops[0] "top_k".expert_groups"#),
        (#""end": 8, "expert_groups": 8, "group_top_k": 9"#, #"ops[0] "top_k".group_top_k"#),
        (#""end": 8, "expert_groups": 7, "group_top_k": 4"#, #"ops[0] "top_k""#),
        (#""end": 200, "expert_groups": 8, "group_top_k": 4"#, #"ops[0] "top_k""#),
    ])
    func refused(members: String, path: String) throws {
        let slice = #"{"name": "top_k", "op": "slice", "axis": 2, "start": 0, "# + members + #", "inputs": ["scores"]}"#
        let error = #expect(throws: InputError.self) { try Graph(jsonBytes: Array(Self.document(slice: slice).utf8)) }
        #expect(error?.path.description == path, "\(error?.description ?? "")")
        #expect(error?.message.contains(members.contains("group_top_k") ? "expert" : "group_top_k") == true, "\(error?.description ?? "")")
    }
}
