extension LinkSpec {
    static let bytesPerGB = 1e9
    static let secondsPerMicrosecond = 1e-6

    /// Decodes an `intra_node` or `inter_node` object of a `shardplan.cluster/1` document. A measured all-gather or
    /// point-to-point bandwidth above the line rate is refused: a ring moves no data faster than its links (only an
    /// all-reduce may, with in-switch reduction).
    init(json reader: JSONReader) throws(InputError) {
        let lineRate = try reader.positiveNumber("bandwidth_gb_per_s")
        for key in ["allgather_bus_bandwidth_gb_per_s", "p2p_bandwidth_gb_per_s"] {
            if let measured = try reader.optionalPositiveNumber(key), measured > lineRate {
                throw reader.invalid(key, "\(key) of \(measured) exceeds the link's bandwidth_gb_per_s of \(lineRate): "
                                     + "an all-gather or a copy moves no data faster than the link (only an all-reduce may, with in-switch reduction)")
            }
        }
        self.init(bandwidth: lineRate * Self.bytesPerGB,
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
