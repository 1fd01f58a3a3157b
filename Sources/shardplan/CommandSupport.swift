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
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw InputError(.invalidValue, at: JSONPath([.key(option)]), "cannot write \(path): \(error.localizedDescription)")
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
    let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
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
