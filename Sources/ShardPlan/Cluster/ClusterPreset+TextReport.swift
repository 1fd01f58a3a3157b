extension ClusterPreset {
    /// The presets as a table: name, devices, device, memory, bf16 peak, HBM bandwidth, NVLink and network
    /// bandwidth per GPU per direction.
    public static var catalogTable: String {
        let header = ["preset", "devices", "device", "memory", "bf16 peak", "HBM", "NVLink/GPU", "network/GPU"]
        var rows = [header]
        var notes: [String] = []
        for preset in all {
            let node = preset.node
            let device = node.device
            var peak = Cluster.figure(device.peakFLOPsPerSecond(for: .bf16) / DeviceSpec.flopsPerTFLOP) + " TFLOP/s"
            let substitute = device.arithmeticType(for: .bf16)
            if substitute != .bf16 {
                peak += " (\(substitute.rawValue))"
                notes.append("\(device.name) has no bf16 units; its \(substitute.rawValue) rate is shown and used.")
            }
            var network = "-"
            if let link = node.interNode {
                network = Cluster.figure(link.bandwidth / LinkSpec.bytesPerGB) + " GB/s ("
                    + Cluster.figure(link.bandwidth * Double(node.devicesPerNode) / LinkSpec.bytesPerGB) + " per node)"
            }
            rows.append([preset.name, String(node.deviceCount), device.name,
                         Cluster.figure(device.memoryBytes / DeviceSpec.bytesPerGiB) + " GiB", peak,
                         Cluster.figure(device.memoryBandwidth / DeviceSpec.bytesPerGB) + " GB/s",
                         node.intraNode.map { Cluster.figure($0.bandwidth / LinkSpec.bytesPerGB) + " GB/s" } ?? "-",
                         network])
        }
        let widths = header.indices.map { column in rows.map { $0[column].count }.max()! }
        var text = rows.map { row in
            row.enumerated().map { column, cell in
                let padding = String(repeating: " ", count: widths[column] - cell.count)
                return column == 1 ? padding + cell : cell + padding
            }.joined(separator: "  ").trimmingTrailingSpaces
        }.joined(separator: "\n") + "\n\n"
        text += notes.map { $0 + "\n" }.joined()
        text += """
            Bandwidths are per GPU per direction, GB = 10^9 bytes; a NIC shared by a node's GPUs is split
            between them. NAME:K is K nodes (dgx-a100-80g:16 = 128 GPUs), or K racks for a preset that is one
            NVLink domain of several trays (gb200-nvl72:2 = 144 GPUs). `shardplan clusters NAME` shows
            every figure, and with --format json writes it as a cluster file. Sources: Docs/clusters.md.

            """
        return text
    }

    /// The presets as JSON: an array of `{"name", "summary", "cluster"}`, each `cluster` a one-node
    /// `shardplan.cluster/1` document.
    public static var catalogJSON: JSONValue {
        .array(all.map { preset in
            .object(JSONObject([("name", .string(preset.name)), ("summary", .string(preset.summary)),
                                ("cluster", preset.node.json)]))
        })
    }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
