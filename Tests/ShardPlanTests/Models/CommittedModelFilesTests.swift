import Foundation
import Testing
@testable import ShardPlan

/// The repository's `Models/` folder must be what `shardplan models --write Models` writes today.
@Suite("committed Models/*.json")
struct CommittedModelFilesTests {
    /// `Models/` at the repository root, found from this file's path (Tests/ShardPlanTests/Models/).
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Models", isDirectory: true)

    @Test("each file equals a fresh generation byte for byte", arguments: ModelCatalog.all.map(\.id))
    func upToDate(_ id: String) throws {
        let file = Self.folder.appendingPathComponent("\(id).json")
        let committed = try #require(FileManager.default.contents(atPath: file.path),
                                     "\(file.path) is missing; run `swift run shardplan models --write Models`")
        #expect(committed == Data(try BuiltModels.graph(id).jsonText.utf8),
                "\(id).json is stale; run `swift run shardplan models --write Models`")
    }

    @Test("the folder holds no model the catalog does not write")
    func noStrayFiles() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { $0.hasSuffix(".json") }
        #expect(Set(names) == Set(ModelCatalog.all.map { "\($0.id).json" }))
    }

    @Test("each file stays under 2 MB")
    func sizes() throws {
        for entry in ModelCatalog.all {
            let attributes = try FileManager.default.attributesOfItem(atPath: Self.folder.appendingPathComponent("\(entry.id).json").path)
            #expect((attributes[.size] as? Int ?? 0) < 2_000_000, "\(entry.id)")
        }
    }
}
