import ArgumentParser
import Foundation

/// `calibrate --rows`: published-run ids, comma-separated (`narayanan21-T1-1.7B,korthikanti22-22B-full`).
struct RowSelection: ExpressibleByArgument, Equatable {
    var ids: Set<String>

    init?(argument: String) {
        let ids = argument.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !ids.isEmpty, !ids.contains(where: \.isEmpty) else { return nil }
        self.ids = Set(ids)
    }

    var defaultValueDescription: String { ids.sorted().joined(separator: ",") }
}
