extension LinkSpec {
    static let bytesPerGB = 1e9
    static let secondsPerMicrosecond = 1e-6

    /// Decodes an `intra_node` or `inter_node` object of a `shardplan.cluster/1` document, refusing measured figures
    /// no link can reach. Every device must receive the (n-1)/n of an all-gather's B bytes it lacks, and the whole
    /// B of an all-reduce's result, whatever the algorithm, through a link of line rate L per direction: an
    /// all-gather's algorithm bandwidth is at most L n/(n-1), so its bus bandwidth (x (n-1)/n) at most L; an
    /// all-reduce's algorithm bandwidth is at most L, so its bus bandwidth (x 2(n-1)/n) below 2L; a copy at most L.
    /// Without in-switch reduction an all-reduce is a ring (or a tree), whose devices each send and receive
    /// 2(n-1)/n x B through their link: its bus bandwidth is at most L, so the all-reduce figure is too.
    init(json reader: JSONReader) throws(InputError) {
        let lineRate = try reader.positiveNumber("bandwidth_gb_per_s")
        let reducesInSwitch = try reader.optionalBool("in_switch_reduction") ?? false
        let ceilings = [("allgather_bus_bandwidth_gb_per_s", 1.0, "an all-gather's bus bandwidth is at most the line rate: each device receives the (n-1)/n of the result it lacks through its link"),
                        ("p2p_bandwidth_gb_per_s", 1.0, "a copy moves no data faster than the link"),
                        ("allreduce_bus_bandwidth_gb_per_s", 2.0, "an all-reduce's bus bandwidth is below twice the line rate even when the switch reduces: each device receives the whole result through its link, and bus bandwidth counts it 2(n-1)/n times")]
        for (key, multiple, reason) in ceilings {
            if let measured = try reader.optionalPositiveNumber(key), measured > multiple * lineRate {
                let ceiling = multiple == 1 ? "the link's bandwidth_gb_per_s of \(JSONWriter.formatNumber(lineRate))"
                    : "\(JSONWriter.formatNumber(multiple)) x the link's bandwidth_gb_per_s of \(JSONWriter.formatNumber(lineRate))"
                throw reader.invalid(key, "\(JSONWriter.formatNumber(measured)) exceeds \(ceiling): \(reason)")
            }
        }
        if !reducesInSwitch, let measured = try reader.optionalPositiveNumber("allreduce_bus_bandwidth_gb_per_s"), measured > lineRate {
            throw reader.invalid("allreduce_bus_bandwidth_gb_per_s", "\(JSONWriter.formatNumber(measured)) exceeds the link's bandwidth_gb_per_s of "
                                 + "\(JSONWriter.formatNumber(lineRate)) without \"in_switch_reduction\": true: a ring's devices each send and receive "
                                 + "2(n-1)/n of the buffer through their link, so its bus bandwidth is at most the line rate; only a switch that "
                                 + "reduces (NVLink SHARP) lets an all-reduce's exceed it")
        }
        self.init(bandwidth: lineRate * Self.bytesPerGB,
                  latency: try reader.nonNegativeNumber("latency_us") * Self.secondsPerMicrosecond,
                  collectiveEfficiency: try reader.optionalFraction("collective_efficiency"),
                  allReduceBusBandwidth: try reader.optionalPositiveNumber("allreduce_bus_bandwidth_gb_per_s").map { $0 * Self.bytesPerGB },
                  allGatherBusBandwidth: try reader.optionalPositiveNumber("allgather_bus_bandwidth_gb_per_s").map { $0 * Self.bytesPerGB },
                  pointToPointBandwidth: try reader.optionalPositiveNumber("p2p_bandwidth_gb_per_s").map { $0 * Self.bytesPerGB },
                  reducesInSwitch: reducesInSwitch)
    }

    /// The link as an `intra_node` or `inter_node` object of a `shardplan.cluster/1` document.
    public var json: JSONValue {
        var object = JSONObject()
        object["bandwidth_gb_per_s"] = .number((bandwidth / Self.bytesPerGB).roundedForJSON)
        object["latency_us"] = .number((latency / Self.secondsPerMicrosecond).roundedForJSON)
        if let collectiveEfficiency { object["collective_efficiency"] = .number(collectiveEfficiency) }
        if let allReduceBusBandwidth {
            object["allreduce_bus_bandwidth_gb_per_s"] = .number((allReduceBusBandwidth / Self.bytesPerGB).roundedForJSON)
        }
        if let allGatherBusBandwidth {
            object["allgather_bus_bandwidth_gb_per_s"] = .number((allGatherBusBandwidth / Self.bytesPerGB).roundedForJSON)
        }
        if let pointToPointBandwidth {
            object["p2p_bandwidth_gb_per_s"] = .number((pointToPointBandwidth / Self.bytesPerGB).roundedForJSON)
        }
        if reducesInSwitch { object["in_switch_reduction"] = .bool(true) }
        return .object(object)
    }
}
