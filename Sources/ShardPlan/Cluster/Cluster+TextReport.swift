extension Cluster {
    /// Every figure of the cluster, one line per part, in the units of `shardplan.cluster/1`.
    public var textReport: String {
        var header = "\(name): \(nodes) node\(nodes == 1 ? "" : "s") x \(devicesPerNode) \(device.name) = \(deviceCount) device\(deviceCount == 1 ? "" : "s")"
        if devicesPerDomain != devicesPerNode {
            header += ", \(domainCount) NVLink domain\(domainCount == 1 ? "" : "s") of \(devicesPerDomain)"
        }
        var lines = [header]
        var deviceLine = "device      \(Self.figure(device.memoryBytes / DeviceSpec.bytesPerGiB)) GiB, "
            + "\(Self.figure(device.memoryBandwidth / DeviceSpec.bytesPerGB)) GB/s memory bandwidth"
        if let multiprocessors = device.multiprocessors { deviceLine += ", \(multiprocessors) SMs" }
        if let clock = device.boostClockHertz { deviceLine += " at \(Self.figure(clock / DeviceSpec.hertzPerMHz)) MHz" }
        if let fraction = device.achievableMemoryBandwidthFraction { deviceLine += ", \(Self.figure(fraction)) of it achievable" }
        lines.append(deviceLine)
        var peakLine = "peak        " + Self.rates(device.peakFLOPsPerSecond) + " TFLOP/s"
        if !device.bestMatmulFLOPsPerSecond.isEmpty { peakLine += "; best matmul " + Self.rates(device.bestMatmulFLOPsPerSecond) }
        lines.append(peakLine)
        if let intraNode { lines.append((devicesPerDomain != devicesPerNode ? "NVLink      " : "intra-node  ") + Self.describe(intraNode)) }
        if let interNode { lines.append("inter-node  " + Self.describe(interNode)) }
        return VisibleText.lines(lines)
    }

    /// A figure as the cluster file writes it (`989.4`, `0.390625`, `2039`).
    static func figure(_ value: Double) -> String {
        JSONWriter.formatNumber(value.roundedForJSON)
    }

    private static func rates(_ table: [DType: Double]) -> String {
        DeviceSpec.dtypeOrder.compactMap { dtype in
            table[dtype].map { "\(dtype.rawValue) \(figure($0 / DeviceSpec.flopsPerTFLOP))" }
        }.joined(separator: ", ")
    }

    private static func describe(_ link: LinkSpec) -> String {
        var text = "\(figure(link.bandwidth / LinkSpec.bytesPerGB)) GB/s per device per direction, "
            + "\(figure(link.latency / LinkSpec.secondsPerMicrosecond)) us per step"
        if let measured = link.allReduceBusBandwidth { text += "; all-reduce busbw \(figure(measured / LinkSpec.bytesPerGB))" }
        if let measured = link.allGatherBusBandwidth { text += "; all-gather busbw \(figure(measured / LinkSpec.bytesPerGB))" }
        if let measured = link.pointToPointBandwidth { text += "; p2p \(figure(measured / LinkSpec.bytesPerGB))" }
        if link.reducesInSwitch { text += "; reduces in the switch (NVLS)" }
        text += "; efficiency \(figure(link.collectiveEfficiency ?? LinkSpec.defaultCollectiveEfficiency))"
        if link.collectiveEfficiency == nil { text += " (default)" }
        return text
    }
}
