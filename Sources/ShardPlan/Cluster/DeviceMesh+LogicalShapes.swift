extension DeviceMesh {
    /// The 2-D logical shapes (a, b), a * b = nodes * devicesPerNode, under which a physical submesh of `nodes`
    /// nodes with `devicesPerNode` devices each can be viewed, ordered from 1 x nm to nm x 1.
    ///
    /// Like Alpa (`get_one_submesh_autosharding_config_choices`, logical mesh ids `arange(n).reshape(a, b)`),
    /// devices are laid out row-major in node-major id order, so the inner axis holds runs of b consecutive
    /// devices. A shape is kept only when those runs respect node boundaries: b divides devicesPerNode (each
    /// group inside one node) or is a multiple of it (whole nodes). For 3 nodes of 8 that drops 8 x 3, 4 x 6 and
    /// 2 x 12, whose rows straddle nodes unevenly. Alpa's default space (`single_node_model_parallel`) is the
    /// subset with b <= devicesPerNode, plus nm x 1.
    public static func logicalShapes(nodes: Int, devicesPerNode: Int) -> [[Int]] {
        precondition(nodes >= 1 && devicesPerNode >= 1, "a submesh has at least one device")
        let total = nodes * devicesPerNode
        return (1 ... total).compactMap { rows in
            guard total % rows == 0 else { return nil }
            let columns = total / rows
            guard devicesPerNode % columns == 0 || columns % devicesPerNode == 0 else { return nil }
            return [rows, columns]
        }
    }
}
