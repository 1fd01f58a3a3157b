import Foundation
import Testing
@testable import ShardPlan

/// `fileBytes(atPath:)`, which reads the documents every command takes: a regular file, and a pipe as a shell's
/// process substitution hands it over (`<(jq ... plan.json)`, a `/dev/fd/N` path), which QA found refused.
@Suite("Reading input files")
struct FileBytesTests {
    @Test("a pipe's /dev/fd path is read to its end")
    func pipe() throws {
        let pipe = Pipe()
        let text = Array(#"{"format": "shardplan.graph/1"}"#.utf8)
        pipe.fileHandleForWriting.write(Data(text))
        try pipe.fileHandleForWriting.close()
        #expect(fileBytes(atPath: "/dev/fd/\(pipe.fileHandleForReading.fileDescriptor)") == text)
    }

    @Test("a regular file is read whole; an empty one is empty; a missing one or a directory is nil")
    func files() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("file-bytes-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("a.json"), empty = folder.appendingPathComponent("empty.json")
        try Data("[1, 2]".utf8).write(to: file)
        try Data().write(to: empty)
        #expect(fileBytes(atPath: file.path) == Array("[1, 2]".utf8))
        #expect(fileBytes(atPath: empty.path) == [])
        #expect(fileBytes(atPath: folder.appendingPathComponent("missing.json").path) == nil)
        #expect(fileBytes(atPath: folder.path) == nil)
    }
}
