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

    /// A run ended by a signal while its plan file is written but not yet in place (here `--report` to a FIFO that no
    /// one reads, which blocks) leaves neither the plan nor its hidden temporary file, and ends by that signal.
    @Test("a run ended by a signal removes the file it had staged", arguments: [SIGTERM, SIGINT])
    func signalRemovesStagedFile(signal: Int32) throws {
        let process = try spawnWithDefaultSignals(try builtBinary(), try planBlockedOnReport())
        var status: Int32 = 0, reaped = false
        // A process reaped above is not killed: its id may belong to another by then.
        defer { if !reaped { kill(process, SIGKILL); waitpid(process, nil, 0) } }
        reaped = try waitForStagedPlan(process, status: &status)
        kill(process, signal)
        let deadline = Date().addingTimeInterval(30)
        while !reaped {
            reaped = waitpid(process, &status, WNOHANG) == process
            try #require(reaped || Date() < deadline, "the run did not end on the signal")
            usleep(20_000)
        }
        // Ended by the signal itself (WIFSIGNALED and WTERMSIG), not by an exit.
        #expect(status & 0x7f == signal)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["report.html"])
    }

    /// A hang-up the parent process ignores (`nohup`) stays ignored: the run goes on and writes its plan once the
    /// FIFO is read.
    @Test("a hang-up the parent ignores, as under nohup, does not end the run")
    func ignoredHangUp() throws {
        let process = try spawnWithDefaultSignals("/bin/sh", ["-c", "trap '' HUP; exec \"$0\" \"$@\"", try builtBinary()]
                                                  + (try planBlockedOnReport()))
        var status: Int32 = 0, reaped = false
        defer { if !reaped { kill(process, SIGKILL); waitpid(process, nil, 0) } }
        reaped = try waitForStagedPlan(process, status: &status)
        kill(process, SIGHUP)
        usleep(300_000)
        reaped = waitpid(process, &status, WNOHANG) == process
        try #require(!reaped, "the run ended on an ignored hang-up")
        // Reading the FIFO lets the report through; the run then puts its plan in place and exits 0.
        let descriptor = open(path("report.html"), O_RDONLY)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        var report = Data(), buffer = [UInt8](repeating: 0, count: 1 << 16)
        while case let count = read(descriptor, &buffer, buffer.count), count > 0 { report.append(contentsOf: buffer[..<count]) }
        reaped = waitpid(process, &status, 0) == process
        #expect(reaped && status == 0)
        #expect(String(decoding: report, as: UTF8.self).contains("<html") && FileManager.default.fileExists(atPath: path("plan.json")))
    }

    /// The `shardplan` executable built beside this test bundle.
    func builtBinary() throws -> String {
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("shardplan").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the shardplan executable first (swift build)")
        return binary
    }

    /// The arguments of a `plan` of gpt-tiny that writes `plan.json` and its report to a FIFO (made here) that no one
    /// reads yet: the run blocks on the report with its plan written beside its destination.
    func planBlockedOnReport() throws -> [String] {
        try #require(mkfifo(path("report.html"), 0o600) == 0)
        return ["plan", Repository.path("Models/gpt-tiny.json"), "--cluster", "dgx-a100-80g", "-o", path("plan.json"),
                "--report", path("report.html")]
    }

    /// Waits, two minutes at most, until `process` has staged its plan file (exactly one, required) or ended; whether it
    /// was reaped.
    func waitForStagedPlan(_ process: pid_t, status: inout Int32) throws -> Bool {
        func staged() throws -> Int { try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix(".plan.json") }.count }
        var reaped = false
        let deadline = Date().addingTimeInterval(120)
        while try staged() == 0, !reaped, Date() < deadline {
            reaped = waitpid(process, &status, WNOHANG) == process
            usleep(50_000)
        }
        try #require(try staged() == 1, "the plan was not staged while the report blocked")
        return reaped
    }

    /// Starts `path` with `arguments`, its output discarded and every signal unblocked and at its default action (a
    /// test runner's threads block some, and a child inherits that); returns its process id.
    func spawnWithDefaultSignals(_ path: String, _ arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for descriptor: Int32 in [1, 2] { posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_WRONLY, 0) }
        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var process: pid_t = 0
        let result = posix_spawn(&process, path, &actions, &attributes, argv, environ)
        try #require(result == 0, "posix_spawn failed: \(String(cString: strerror(result)))")
        return process
    }
}
