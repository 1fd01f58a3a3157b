import Foundation

/// Paths in the repository these tests live in.
enum Repository {
    /// The package root: this file is Tests/CommandLineTests/Repository.swift.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }

    /// A fresh file name in the temporary directory.
    static func temporaryFile(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("shardplan-\(UUID().uuidString)-\(name)").path
    }
}
