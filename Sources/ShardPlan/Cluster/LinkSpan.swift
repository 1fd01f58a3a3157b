/// Which links a group of devices crosses: the NVLink domains it touches and how many of its devices sit in
/// each. Every cost of communication asks this one question (`Cluster.linkSpan(of:)`): a group inside one
/// domain runs over the fast links (NVLink, Infinity Fabric) however many nodes or trays the domain has, and a
/// group across domains runs over the network.
public struct LinkSpan: Sendable, Equatable {
    /// NVLink domains holding at least one device of the group.
    public var domains: Int
    /// The fewest devices of the group in one of its domains (the NICs a ring across domains can use at once).
    public var fewestPerDomain: Int
    /// The most devices of the group in one of its domains (above 1: a ring across domains also hops over NVLink).
    public var mostPerDomain: Int

    /// Whether the group stays on the fast links.
    public var staysInDomain: Bool { domains == 1 }
}

extension Cluster {
    /// The domains `devices` touch and how many of them sit in each; each device is listed once.
    public func linkSpan(of devices: some Collection<Int>) -> LinkSpan {
        var countByDomain: [Int: Int] = [:]
        for id in devices { countByDomain[domain(ofDevice: id), default: 0] += 1 }
        return LinkSpan(domains: countByDomain.count, fewestPerDomain: countByDomain.values.min() ?? 0,
                        mostPerDomain: countByDomain.values.max() ?? 0)
    }

    /// The link a message from device `source` to device `destination` travels: nil for the same device.
    public func link(from source: Int, to destination: Int) -> LinkSpec? {
        if source == destination { return nil }
        return domain(ofDevice: source) == domain(ofDevice: destination) ? intraNode : interNode
    }
}
