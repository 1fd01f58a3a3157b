extension LinkSpec {
    static let bytesPerGB = 1e9
    static let secondsPerMicrosecond = 1e-6

    /// Decodes an `intra_node` or `inter_node` object of a `shardplan.cluster/1` document.
    init(json reader: JSONReader) throws(InputError) {
        self.init(bandwidth: try reader.positiveNumber("bandwidth_gb_per_s") * Self.bytesPerGB,
                  latency: try reader.nonNegativeNumber("latency_us") * Self.secondsPerMicrosecond,
                  collectiveEfficiency: try reader.optionalFraction("collective_efficiency"),
                  allReduceBusBandwidth: try reader.optionalPositiveNumber("allreduce_bus_bandwidth_gb_per_s").map { $0 * Self.bytesPerGB },
                  allGatherBusBandwidth: try reader.optionalPositiveNumber("allgather_bus_bandwidth_gb_per_s").map { $0 * Self.bytesPerGB },
                  pointToPointBandwidth: try reader.optionalPositiveNumber("p2p_bandwidth_gb_per_s").map { $0 * Self.bytesPerGB })
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
        return .object(object)
    }
}
