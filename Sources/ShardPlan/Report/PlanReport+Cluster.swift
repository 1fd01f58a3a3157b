extension PlanReport {
    /// The cluster: nodes as boxes of device squares, each square coloured by the pipeline rank that runs on
    /// it (grey when the plan leaves it idle); then each distinct rank mesh drawn as a grid of its devices with
    /// its axes named by what they split; then which layers each rank runs.
    var clusterSection: String {
        let cluster = plan.cluster
        var rankOfDevice = Array(repeating: -1, count: cluster.deviceCount)
        for (index, stage) in plan.stages.enumerated() {
            for device in stage.mesh.devices { rankOfDevice[device] = plan.rank(ofStage: index) }
        }
        // Nodes in a grid; devices of a node in rows of up to 8.
        let perRow = min(cluster.devicesPerNode, 8)
        let deviceRows = (cluster.devicesPerNode + perRow - 1) / perRow
        let square = cluster.deviceCount > 256 ? 9.0 : cluster.deviceCount > 64 ? 13.0 : 22.0
        let gap = square > 10 ? 3.0 : 2.0, pad = square > 10 ? 8.0 : 5.0
        let labelled = cluster.nodes <= 32
        // Each box as wide as its devices or its label, whichever is wider.
        let labelWidth = labelled ? HTMLText.width("node \(cluster.nodes - 1)", fontSize: 10) : 0
        let nodeWidth = max(Double(perRow) * (square + gap) - gap, labelWidth) + 2 * pad
        let nodeHeight = Double(deviceRows) * (square + gap) - gap + 2 * pad + (labelled ? 16 : 0)
        // A margin for the boxes' outlines; every node in one row where they fit the page's column, else rows of
        // the most nodes that fit, a power of two up to 16.
        let spacing = square > 10 ? 12.0 : 6.0, margin = 1.0
        let fit = max(Int((Self.columnWidth - 2 * margin + spacing) / (nodeWidth + spacing)), 1)
        var columns = 1
        if cluster.nodes <= fit { columns = cluster.nodes } else { while columns * 2 <= min(fit, 16) { columns *= 2 } }
        let rows = (cluster.nodes + columns - 1) / columns
        let width = Double(columns) * (nodeWidth + spacing) - spacing + 2 * margin
        let height = Double(rows) * (nodeHeight + spacing) - spacing + 2 * margin
        // With more than one rank, each device is numbered with its rank where the numbers fit in the squares.
        let rankFontSize = square > 20 ? 10.0 : 8.0
        let numbered = plan.pipelineRanks > 1 && HTMLText.width("\(plan.pipelineRanks - 1)", fontSize: rankFontSize) + 2 <= square
        var svg = "<svg id=\"cluster-map\" viewBox=\"0 0 \(HTMLText.coordinate(width)) \(HTMLText.coordinate(height))\" "
            + "width=\"\(HTMLText.coordinate(width))\" role=\"img\" aria-label=\"\(cluster.nodes) node\(cluster.nodes == 1 ? "" : "s") of \(cluster.devicesPerNode) device\(cluster.devicesPerNode == 1 ? "" : "s")\">\n"
        for node in 0 ..< cluster.nodes {
            let x = margin + Double(node % columns) * (nodeWidth + spacing), y = margin + Double(node / columns) * (nodeHeight + spacing)
            svg += "<g class=\"node\"><rect x=\"\(HTMLText.coordinate(x))\" y=\"\(HTMLText.coordinate(y))\" width=\"\(HTMLText.coordinate(nodeWidth))\" "
                + "height=\"\(HTMLText.coordinate(nodeHeight))\" rx=\"5\" fill=\"#f1f3f7\" stroke=\"#c9ced8\"/>"
            if labelled {
                svg += "<text x=\"\(HTMLText.coordinate(x + pad))\" y=\"\(HTMLText.coordinate(y + pad + 9))\" font-size=\"10\" fill=\"#5b6475\">node \(node)</text>"
            }
            for local in 0 ..< cluster.devicesPerNode {
                let device = node * cluster.devicesPerNode + local
                let dx = x + pad + Double(local % perRow) * (square + gap)
                let dy = y + pad + (labelled ? 16 : 0) + Double(local / perRow) * (square + gap)
                let rank = rankOfDevice[device]
                let fill = rank >= 0 ? Self.rankColor(rank, of: plan.pipelineRanks) : "#d5d9e0"
                let title = rank >= 0 ? "device \(device): pipeline rank \(rank)" : "device \(device): idle"
                svg += "<rect class=\"device\" x=\"\(HTMLText.coordinate(dx))\" y=\"\(HTMLText.coordinate(dy))\" width=\"\(HTMLText.coordinate(square))\" "
                    + "height=\"\(HTMLText.coordinate(square))\" rx=\"1.5\" fill=\"\(fill)\"><title>\(title)</title></rect>"
                if rank >= 0, numbered {
                    svg += "<text class=\"rank\" x=\"\(HTMLText.coordinate(dx + square / 2))\" y=\"\(HTMLText.coordinate(dy + square / 2 + rankFontSize * 0.35))\" "
                        + "font-size=\"\(HTMLText.coordinate(rankFontSize))\" text-anchor=\"middle\">\(rank)</text>"
                }
            }
            svg += "</g>\n"
        }
        svg += "</svg>"
        let idle = rankOfDevice.count { $0 < 0 }
        var html = chart(svg) + "<p class=\"caption\">\(cluster.nodes) node\(cluster.nodes == 1 ? "" : "s") of \(cluster.devicesPerNode) \(HTMLText.escape(cluster.device.name)); "
            + "each square is a device, coloured by the pipeline rank it runs\(numbered ? " and numbered with it" : "")\(idle > 0 ? "; \(HTMLText.count(idle)) grey device\(idle == 1 ? " is" : "s are") idle" : "").</p>\n"
        html += meshCards
        html += rankLegend
        return html
    }

    /// One drawing per distinct (mesh shape, axis roles): the devices of a rank laid out by `MeshDrawing`, with
    /// each axis named by what it splits (`MegatronSummary`) and where the drawing puts it.
    private var meshCards: String {
        let graph = plan.graph
        let roles = TensorRoles(graph)
        var groups: [(key: String, shape: [Int], axes: [String], ranks: [Int], devices: [Int])] = []
        for rank in 0 ..< plan.pipelineRanks {
            let stage = plan.stages[rank]
            let role = MegatronSummary.roles(of: stage, graph: graph, roles: roles)
            let axes = stage.mesh.shape.indices.map { axis in
                // An axis that splits the experts is expert parallelism beside what its other products make it.
                let words = (role.axes[axis] == .none ? [] : [role.axes[axis].rawValue]) + (role.expertAxes.contains(axis) ? ["expert"] : [])
                let described = words == ["mixed"] ? "mixed" : words.joined(separator: " + ") + " parallel"
                return "\(stage.mesh.axisNames[axis]) = \(stage.mesh.shape[axis])" + (words.isEmpty ? "" : " (\(described))")
            }
            let key = "\(stage.mesh.shape) \(axes) \(role.tensorParallel) \(role.dataParallel)"
            if let index = groups.firstIndex(where: { $0.key == key }) {
                groups[index].ranks.append(rank)
            } else {
                groups.append((key, stage.mesh.shape, axes, [rank], stage.mesh.devices))
            }
        }
        var html = "<div class=\"legend\" id=\"meshes\" style=\"gap:14px 28px; margin-top:14px\">\n"
        for group in groups.prefix(12) {
            let drawing = MeshDrawing(shape: group.shape)
            var svg = "<svg class=\"mesh\" viewBox=\"0 0 \(HTMLText.coordinate(drawing.width)) \(HTMLText.coordinate(drawing.height))\" width=\"\(HTMLText.coordinate(drawing.width))\">"
            for (device, origin) in zip(group.devices, drawing.origins) {
                svg += "<rect x=\"\(HTMLText.coordinate(origin.x))\" y=\"\(HTMLText.coordinate(origin.y))\" width=\"\(HTMLText.coordinate(drawing.cell - 1))\" "
                    + "height=\"\(HTMLText.coordinate(drawing.cell - 1))\" fill=\"\(Self.rankColor(group.ranks[0], of: plan.pipelineRanks))\"><title>device \(device)</title></rect>"
            }
            svg += "</svg>"
            let axes = zip(group.axes, drawing.placements).map { axis, placement in HTMLText.escape(axis + (placement.map { ", " + $0 } ?? "")) }
            let ranks = group.ranks.count == plan.pipelineRanks && plan.pipelineRanks > 1 ? "every rank" : Self.rankList(group.ranks)
            html += "<div style=\"display:flex; gap:10px; align-items:center\">\(svg)<div><b>\(ranks)</b>: mesh "
                + group.shape.map(String.init).joined(separator: " × ") + "<br>"
                + axes.joined(separator: "<br>") + "</div></div>\n"
        }
        if groups.count > 12 { html += "<div>… and \(groups.count - 12) more meshes</div>\n" }
        return html + "</div>\n"
    }

    /// "ranks 0-3, 6" from sorted ranks.
    static func rankList(_ ranks: [Int]) -> String {
        var parts: [String] = []
        var start = ranks[0], previous = ranks[0]
        for rank in ranks.dropFirst() + [Int.max] {
            if rank == previous + 1 { previous = rank; continue }
            parts.append(start == previous ? "\(start)" : "\(start)-\(previous)")
            start = rank
            previous = rank
        }
        return (ranks.count == 1 ? "rank " : "ranks ") + parts.joined(separator: ", ")
    }

    /// Each rank's colour, devices and layers.
    private var rankLegend: String {
        var html = "<div class=\"legend\" id=\"ranks\">\n"
        for rank in 0 ..< plan.pipelineRanks {
            let chunks = plan.stages.indices.filter { plan.rank(ofStage: $0) == rank }
            let layers = chunks.map { chunk -> String in
                let range = plan.stages[chunk].operations
                let first = plan.graph.operations[range.lowerBound], last = plan.graph.operations[range.upperBound - 1]
                return "\(first.layer ?? first.name)…\(last.layer ?? last.name)"
            }.joined(separator: ", ")
            let devices = plan.stages[chunks[0]].mesh.devices
            html += "<span><span class=\"key\" style=\"background:\(Self.rankColor(rank, of: plan.pipelineRanks))\"></span>rank \(rank): \(DeviceListText.describe(devices)), "
                + "\(HTMLText.escape(layers))</span>\n"
        }
        return html + "</div>\n"
    }
}
