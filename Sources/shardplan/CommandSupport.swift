import ArgumentParser
import Foundation
import ShardPlan

/// Runs `body`, printing an `InputError` as one paragraph on standard error and exiting with code 1.
func reportingInputErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as InputError {
        printError("error: " + VisibleText.escape(error.description))
        throw ExitCode.failure
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Writes `text` to `path`, or to standard output when `path` is nil or `-`. The file is written whole or not at
/// all; a failure names `option`, the option that gave the path.
func writeOutput(_ text: String, to path: String?, option: String = "--output") throws {
    guard let path, path != "-" else {
        FileHandle.standardOutput.write(Data(text.utf8))
        return
    }
    do {
        try writeFile(Data(text.utf8), at: path)
    } catch {
        throw InputError(.invalidValue, at: JSONPath([.key(option)]), "cannot write \(path): \(error.localizedDescription)")
    }
}

/// Writes `data` to the file at `path` as a person expects of an output option: through a symbolic link to the
/// file it names; into a FIFO, a device or another file that is not a regular one, as it is (`/dev/stdout`,
/// `/dev/null`); and a regular file whole or not at all, keeping an existing file's permissions.
func writeFile(_ data: Data, at path: String) throws {
    let target = URL(fileURLWithPath: path).resolvingSymlinksInPath()
    let attributes = try? FileManager.default.attributesOfItem(atPath: target.path)
    guard let type = attributes?[.type] as? FileAttributeType else {
        try data.write(to: target, options: .atomic)
        return
    }
    guard type == .typeRegular else {
        try data.write(to: target)
        return
    }
    try data.write(to: target, options: .atomic)
    if let permissions = attributes?[.posixPermissions] {
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: target.path)
    }
}

/// Refuses a path `writeOutput` could not write, before a command does its work: a directory, an empty path, or
/// one whose folder is missing or not writable. `option` names the option that gave it.
func checkWritable(_ path: String?, option: String) throws {
    guard let path, path != "-" else { return }
    func refuse(_ reason: String) -> InputError {
        InputError(.invalidValue, at: JSONPath([.key(option)]), "cannot write \(path.isEmpty ? "an empty path" : path): \(reason)")
    }
    guard !path.isEmpty else { throw refuse("give a file name") }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw refuse("it is a directory")
    }
    // A regular file is replaced whole, so its folder must be writable; anything else is written into as it is.
    let target = URL(fileURLWithPath: path).resolvingSymlinksInPath()
    if let type = try? FileManager.default.attributesOfItem(atPath: target.path)[.type] as? FileAttributeType, type != .typeRegular {
        guard FileManager.default.isWritableFile(atPath: target.path) else { throw refuse("it is not writable") }
        return
    }
    let folder = target.deletingLastPathComponent().path
    guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw refuse("no folder \(folder)")
    }
    guard FileManager.default.isWritableFile(atPath: folder) else { throw refuse("the folder \(folder) is not writable") }
}

/// Measures the phases of a command for `--timings`, printed on standard error.
struct CommandClock {
    let enabled: Bool
    private var last = Date()

    init(enabled: Bool) { self.enabled = enabled }

    mutating func lap(_ phase: String) {
        let now = Date()
        if enabled { printError(String(format: "timing: %-28@ %8.3f s", phase as NSString, now.timeIntervalSince(last))) }
        last = now
    }
}
