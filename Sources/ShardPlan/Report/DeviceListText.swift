/// How a report names a set of device ids: "device 3", "devices 0-7", or, where the ids are not one run,
/// each run of consecutive ids ("devices 0, 2, 4, 6", "devices 0-3, 8-11"). A hand-edited plan may give a
/// stage any devices in any mesh order; naming only the first and last would claim devices it does not have.
enum DeviceListText {
    /// `devices` sorted and written as runs of consecutive ids, after "device" or "devices".
    static func describe(_ devices: [Int]) -> String {
        let sorted = devices.sorted()
        guard sorted.count > 1 else { return sorted.first.map { "device \($0)" } ?? "no devices" }
        var runs: [(first: Int, last: Int)] = []
        for device in sorted {
            if let last = runs.last?.last, device == last + 1 { runs[runs.count - 1].last = device } else { runs.append((device, device)) }
        }
        return "devices " + runs.map { $0.first == $0.last ? "\($0.first)" : "\($0.first)-\($0.last)" }.joined(separator: ", ")
    }
}
