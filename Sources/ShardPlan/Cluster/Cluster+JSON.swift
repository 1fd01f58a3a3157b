extension Cluster {
    /// The format string of cluster documents this version reads and writes.
    public static let formatName = "shardplan.cluster/1"

    /// The optional member giving the devices that share the fast links (default: one node).
    static let domainKey = "devices_per_nvlink_domain"

    /// Decodes and validates a `shardplan.cluster/1` document; `document` (a file name) prefixes messages.
    public init(jsonBytes bytes: [UInt8], document: String? = nil) throws(InputError) {
        let value = try JSONValue.parseDocument(bytes, document: document ?? "cluster")
        do {
            self = try Cluster(json: value)
        } catch {
            throw error.inDocument(document ?? "cluster")
        }
    }

    /// Decodes and validates a parsed `shardplan.cluster/1` document, or one held at `path` of another document (a
    /// runs file's `rows[3].replay_cluster`), whose errors then name their path below it. Every number must be
    /// positive (latencies may be 0); `intra_node` may be left out when a node holds one device, `inter_node` when
    /// there is one node.
    public init(json: JSONValue, at path: JSONPath = .root) throws(InputError) {
        let top = try JSONReader(json, at: path, what: "a cluster object")
        guard top.contains("format") else {
            throw InputError(.unsupportedFormat, at: path,
                             "missing \"format\"; a cluster document starts with \"format\": \"\(Self.formatName)\"")
        }
        let format = try top.string("format")
        guard format == Self.formatName else {
            throw InputError(.unsupportedFormat, at: path.appending("format"),
                             "unknown format \"\(format)\"; this version reads \"\(Self.formatName)\"")
        }
        let nodes = try top.positiveInt("nodes")
        let devicesPerNode = try top.positiveInt("devices_per_node")
        guard nodes <= Self.maximumDeviceCount / devicesPerNode else {
            throw top.invalid("nodes", "\(nodes) nodes of \(devicesPerNode) devices is more than the \(Self.maximumDeviceCount) devices ShardPlan plans for")
        }
        let domain = try top.optionalPositiveInt(Self.domainKey) ?? devicesPerNode
        guard domain % devicesPerNode == 0, (nodes * devicesPerNode) % domain == 0 else {
            throw top.invalid(Self.domainKey, "an NVLink domain of \(domain) devices must be a whole number of nodes of \(devicesPerNode) and divide the cluster's \(nodes * devicesPerNode) devices")
        }
        let device = try DeviceSpec(json: try top.reader("device"))
        let intraNode = try Self.link(top, "intra_node", required: domain > 1,
                                      why: domain == devicesPerNode ? "nodes of \(devicesPerNode) devices need the link between them"
                                          : "NVLink domains of \(domain) devices need the link between them")
        let interNode = try Self.link(top, "inter_node", required: nodes * devicesPerNode > domain,
                                      why: domain == devicesPerNode ? "a cluster of \(nodes) nodes needs the network between them"
                                          : "a cluster of \(nodes * devicesPerNode / domain) NVLink domains needs the network between them")
        self.init(name: try top.optionalName("name", of: "a cluster") ?? Self.unnamed, nodes: nodes, devicesPerNode: devicesPerNode,
                  devicesPerDomain: domain, device: device, intraNode: intraNode, interNode: interNode)
    }

    private static func link(_ top: JSONReader, _ key: String, required: Bool, why: String) throws(InputError) -> LinkSpec? {
        guard top.contains(key) else {
            if required { throw InputError(.missingField, at: top.path, "missing required member \"\(key)\": \(why)") }
            return nil
        }
        return try LinkSpec(json: try top.reader(key))
    }

    /// The cluster as a `shardplan.cluster/1` document. Decoding it gives back an equal cluster (figures are
    /// written to 12 significant digits).
    public var json: JSONValue {
        var top = JSONObject()
        top["format"] = .string(Self.formatName)
        top["name"] = .string(name)
        top["nodes"] = .int(nodes)
        top["devices_per_node"] = .int(devicesPerNode)
        if devicesPerDomain != devicesPerNode { top[Self.domainKey] = .int(devicesPerDomain) }
        top["device"] = device.json
        if let intraNode { top["intra_node"] = intraNode.json }
        if let interNode { top["inter_node"] = interNode.json }
        return .object(top)
    }

    /// The cluster as JSON text.
    public var jsonText: String { JSONWriter(inlineDepth: 3, lineWidth: 110).render(json) }
}
