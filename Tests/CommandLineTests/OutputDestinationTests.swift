import Foundation
import ShardPlan
import Testing
@testable import shardplan

/// `-o` and `--report` write what a path leads to: the file a link names, a FIFO or device as it is, an open
/// descriptor as the shell set it up, and a regular file whole, keeping its permissions.
@Suite("Output paths: links, special files, descriptors and whole regular files")
final class OutputDestinationTests {
    /// A folder of its own for each test, removed when the test ends.
    let folder: String

    init() throws {
        folder = Repository.temporaryFile("outputs")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    func path(_ name: String) -> String { folder + "/" + name }
    func text(_ name: String) throws -> String { String(decoding: try Data(contentsOf: URL(fileURLWithPath: path(name))), as: UTF8.self) }

    @Test("a relative link writes the file it names and stays a link; the file keeps its permissions")
    func throughALink() throws {
        try Data("before".utf8).write(to: URL(fileURLWithPath: path("target.txt")))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path("target.txt"))
        try FileManager.default.createSymbolicLink(atPath: path("link.txt"), withDestinationPath: "target.txt")
        #expect(try OutputDestination(path: path("link.txt")) == .file(path: path("target.txt")))
        try writeOutput("after", to: path("link.txt"))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: path("link.txt")) == "target.txt")
        #expect(try text("target.txt") == "after")
        #expect(try FileManager.default.attributesOfItem(atPath: path("target.txt"))[.posixPermissions] as? Int == 0o600)
        // No temporary file is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["link.txt", "target.txt"])
    }

    @Test("a dangling link creates the file it names, in the link's folder")
    func danglingLink() throws {
        try FileManager.default.createDirectory(atPath: path("sub"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: path("new.json"), withDestinationPath: "sub/plan.json")
        try checkWritable(path("new.json"), option: "--output")
        try writeOutput("{}", to: path("new.json"))
        #expect(try text("sub/plan.json") == "{}")
    }

    @Test("a link to a folder, a loop of links and a missing folder are refused before any work")
    func refusals() throws {
        try FileManager.default.createSymbolicLink(atPath: path("folder"), withDestinationPath: ".")
        try FileManager.default.createSymbolicLink(atPath: path("a"), withDestinationPath: "b")
        try FileManager.default.createSymbolicLink(atPath: path("b"), withDestinationPath: "a")
        for (name, reason) in [("folder", "it is a directory"), ("a", "too many levels of symbolic links"), ("none/x.json", "no folder")] {
            let error = #expect(throws: InputError.self) { try checkWritable(path(name), option: "--output") }
            #expect(error?.message.contains(reason) == true && error?.path.description == "--output", "\(error?.message ?? "accepted")")
        }
    }

    @Test("descriptors, devices and FIFOs are written as they are, never replaced")
    func specialFiles() throws {
        #expect(try OutputDestination(path: "/dev/stdout") == .descriptor(1))
        #expect(try OutputDestination(path: "/dev/fd/3") == .descriptor(3))
        #expect(try OutputDestination(path: "/proc/self/fd/2") == .descriptor(2))
        #expect(try OutputDestination(path: "/dev/null") == .special(path: "/dev/null"))
        #expect(mkfifo(path("pipe"), 0o600) == 0)
        #expect(try OutputDestination(path: path("pipe")) == .special(path: path("pipe")))
    }

    /// `-o` and `--report` must not write the same place: through a link to a file not yet written, or standard
    /// output under two spellings.
    @Test("-o and --report to one file through a link, or both to standard output, are refused")
    func sameDestination() throws {
        try FileManager.default.createSymbolicLink(atPath: path("alias.txt"), withDestinationPath: "plan.txt")
        #expect(namesSameFile(path("plan.txt"), path("alias.txt")))
        #expect(writesTo("-") == writesTo("/dev/stdout") && writesTo("/dev/fd/1") == "descriptor 1")
        for arguments in [["-o", path("plan.txt"), "--report", path("alias.txt")], ["-o", "/dev/stdout", "--report", "-"],
                          ["-o", "/dev/fd/1", "--report", "/dev/stdout"]] {
            #expect(throws: (any Error).self, "\(arguments)") { try PlanOutput.parse(arguments) }
        }
        #expect(throws: Never.self) { try PlanOutput.parse(["-o", path("plan.txt"), "--report", path("plan.html")]) }
    }
}
