import Testing
@testable import ShardPlan

@Suite("Misspelt members: what a decode did not read but looked for")
struct MemberReadsTests {
    /// A cluster of two racks of 72 GPUs in one NVLink domain each, with `extra` members added at the top level and
    /// `network` members in `inter_node`.
    private func rackCluster(extra: String = "", network: String = "") throws -> (Cluster, [MemberReads.Misspelling]) {
        let text = """
        {"format": "shardplan.cluster/1", "name": "racks", "nodes": 36, "devices_per_node": 4, \(extra)
         "device": {"name": "B200", "memory_gib": 186, "peak_tflops": {"bf16": 2500, "f16": 2500}, "memory_bandwidth_gb_per_s": 8000},
         "intra_node": {"bandwidth_gb_per_s": 900, "latency_us": 3},
         "inter_node": {"bandwidth_gb_per_s": 50, "latency_us": 14 \(network)}}
        """
        return try MemberReads.collecting { () throws(InputError) in try Cluster(jsonBytes: Array(text.utf8), document: "racks.json") }
    }

    @Test("a typo in an optional member is named with the member it resembles, and the member stays ignored")
    func typoInOptionalMember() throws {
        let (cluster, misspellings) = try rackCluster(extra: #""devices_per_nvlink_domian": 72,"#)
        // Ignored: each node of 4 is its own NVLink domain, as without the member.
        #expect(cluster.devicesPerDomain == 4)
        #expect(misspellings == [MemberReads.Misspelling(path: JSONPath([.key("devices_per_nvlink_domian")]),
                                                         member: "devices_per_nvlink_domian", suggestion: "devices_per_nvlink_domain")])
        #expect(misspellings.first?.description
                == #"devices_per_nvlink_domian: not a member ShardPlan reads (did you mean "devices_per_nvlink_domain"?); it is ignored, as every unknown member is"#)
        let spelt = try rackCluster(extra: #""devices_per_nvlink_domain": 72,"#)
        #expect(spelt.0.devicesPerDomain == 72 && spelt.1.isEmpty)
    }

    @Test("an abbreviation of a member is named at its nested path; an unrelated member is not")
    func abbreviationsAndUnrelatedMembers() throws {
        let (_, abbreviated) = try rackCluster(network: #", "allreduce_busbw_gb_per_s": 45"#)
        #expect(abbreviated.map(\.path.description) == ["inter_node.allreduce_busbw_gb_per_s"])
        #expect(abbreviated.map(\.suggestion) == ["allreduce_bus_bandwidth_gb_per_s"])
        // Other tools' members stay quiet.
        let (_, unrelated) = try rackCluster(extra: #""vendor_notes": "rack A", "owner": "infra","#)
        #expect(unrelated.isEmpty)
    }

    @Test("every preset's own document reads without a warning")
    func presetsReadClean() throws {
        for preset in ClusterPreset.all {
            let text = try Cluster.preset(named: preset.name).jsonText
            let (_, misspellings) = try MemberReads.collecting { () throws(InputError) in
                try Cluster(jsonBytes: Array(text.utf8), document: preset.name)
            }
            #expect(misspellings.isEmpty, "\(preset.name): \(misspellings)")
        }
    }

    @Test("a graph's misspelt parameter flag is named at the parameter, labelled with its name")
    func graphMember() throws {
        let text = """
        {"format": "shardplan.graph/1", "inputs": [{"name": "x", "shape": [8, 16], "dtype": "f32", "batchdim": 0}],
         "parameters": [{"name": "w", "shape": [16, 4], "dtype": "f32", "trainabel": false}],
         "ops": [{"name": "y", "op": "einsum", "equation": "bd,df->bf", "inputs": ["x", "w"]},
                 {"name": "loss", "op": "reduce", "kind": "mean", "inputs": ["y"], "axes": [0, 1]}],
         "outputs": ["loss"]}
        """
        let (graph, misspellings) = try MemberReads.collecting { () throws(InputError) in
            try Graph(json: JSONValue.parseDocument(Array(text.utf8), document: "g.json"))
        }
        #expect(graph.parameters.count == 1)
        #expect(misspellings.map(\.path.description) == [#"inputs[0] "x".batchdim"#, #"parameters[0] "w".trainabel"#])
        #expect(misspellings.map(\.suggestion) == ["batch_dim", "trainable"])
    }

    @Test("closeness: case, underscores and hyphens fold; one edit, two from eight letters; swaps count once; ties say nothing")
    func nearest() {
        func chars(_ text: String) -> [Character] { Array(text) }
        // kitten -> sitten -> sittin -> sitting; a swap of neighbours is one edit, not two.
        #expect(MemberReads.editDistance(chars("kitten"), chars("sitting")) == 3)
        #expect(MemberReads.editDistance(chars("ab"), chars("ba")) == 1)
        #expect(MemberReads.editDistance(chars(""), chars("abc")) == 3)
        #expect(MemberReads.nearest(to: "Latency-US", among: ["latency_us"]) == "latency_us")
        #expect(MemberReads.nearest(to: "nodse", among: ["nodes"]) == "nodes")
        // Four letters allow one edit, eight allow two.
        #expect(MemberReads.nearest(to: "nxdxs", among: ["nodes"]) == nil)
        #expect(MemberReads.nearest(to: "bandwitdh_gb", among: ["bandwidth_gb"]) == "bandwidth_gb")
        #expect(MemberReads.nearest(to: "layer", among: ["player", "layers"]) == nil)
        #expect(MemberReads.nearest(to: "layer", among: ["layers", "p2p_bandwidth"]) == "layers")
        // An abbreviation keeps the letters in order from the first, and at least 60% of them.
        #expect(MemberReads.isAbbreviation(chars("busbw"), of: chars("busbandwidth")) == false)
        #expect(MemberReads.isAbbreviation(chars("allreducebusbw"), of: chars("allreducebusbandwidth")))
        #expect(MemberReads.isAbbreviation(chars("llreducebusbw"), of: chars("allreducebusbandwidth")) == false)
    }

    @Test("a decode outside collecting records nothing and reads as before")
    func withoutLog() throws {
        let cluster = try Cluster(jsonBytes: Array(try Cluster.preset(named: "dgx-h100:2").jsonText.utf8), document: "c")
        #expect(cluster.deviceCount == 16)
        #expect(MemberReads.current == nil)
    }
}
