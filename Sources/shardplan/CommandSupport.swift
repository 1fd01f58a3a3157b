import ArgumentParser
import Foundation
import ShardPlan

/// Runs `body`, printing an `InputError` as one paragraph on standard error and exiting with code 1.
func reportingInputErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as InputError {
        printError("error: " + VisibleText.escape(CommandLineFlags.naming(error).description))
        throw ExitCode.failure
    }
}

/// Runs `decode`, which reads document `name` (a file path, `-` or a preset), and prints a warning on standard error
/// for each member it did not read that is spelled like one it looked for (`MemberReads`): the formats ignore
/// members they do not know, so a typo in an optional member would otherwise change the result in silence. A
/// misspelling in a cluster file the document names (`MemberReads.separately`) names that file instead.
func warningOfMisspellings<Result, Failure: Error>(in name: String, _ decode: () throws(Failure) -> Result) throws(Failure) -> Result {
    let (result, misspellings) = try MemberReads.collecting(decode)
    for misspelling in misspellings { printError("warning: " + VisibleText.escape("\(misspelling.document ?? name): \(misspelling)")) }
    return result
}

/// Prints `message` on standard error; a standard error that cannot be written (closed, a full disk) loses it.
func printError(_ message: String) {
    try? FileHandle.standardError.write(contentsOf: Data((message + "\n").utf8))
}

/// Writes `text` to `path`, or to standard output when `path` is nil or `-`, as `OutputDestination` says (a
/// regular file whole or not at all); a failure names `option`, the option that gave the path.
func writeOutput(_ text: String, to path: String?, option: String = "--output") throws {
    try writeOutputs([(text, path, option)])
}

/// Writes each text to its path (standard output for nil or `-`), regular files last and together: each file is
/// written beside its destination, then the streams (standard output, a device, a FIFO), which cannot be taken
/// back, and only when all are written are the files put in place. A failing output (a full disk, `--report
/// /dev/full`) so leaves no file behind. `option` names the option an error is reported at.
func writeOutputs(_ outputs: [(text: String, path: String?, option: String)]) throws {
    var staged: [(file: OutputDestination.StagedFile, path: String, option: String)] = []
    func failure(_ error: Error, option: String, path: String?) -> InputError {
        for (file, _, _) in staged { file.discard() }
        return InputError(.invalidValue, at: JSONPath([.key(option)]),
                          "cannot write \(path.map { $0 == "-" ? "standard output" : $0 } ?? "standard output"): \(OutputDestination.reason(error))")
    }
    var streams: [(text: String, destination: OutputDestination, path: String?, option: String)] = []
    for (text, path, option) in outputs {
        do {
            let destination = try path.flatMap { $0 == "-" ? nil : try OutputDestination(path: $0) } ?? .descriptor(1)
            guard case .file = destination, let path else {
                streams.append((text, destination, path, option))
                continue
            }
            if let file = try destination.stage(Data(text.utf8)) { staged.append((file, path, option)) }
        } catch {
            throw failure(error, option: option, path: path)
        }
    }
    for (text, destination, path, option) in streams {
        do { try destination.write(Data(text.utf8)) } catch { throw failure(error, option: option, path: path) }
    }
    while let (file, path, option) = staged.first {
        do { try file.commit() } catch { throw failure(error, option: option, path: path) }
        staged.removeFirst()
    }
}

/// Refuses a path `writeOutput` could not write, before a command does its work: an empty path, a loop of links,
/// a directory, a special file that is not writable, or a file whose folder is missing or not writable
/// (`OutputDestination.problem`). `option` names the option that gave it.
func checkWritable(_ path: String?, option: String) throws(InputError) {
    guard let path, path != "-" else { return }
    func refuse(_ reason: String) -> InputError {
        InputError(.invalidValue, at: JSONPath([.key(option)]), "cannot write \(path.isEmpty ? "an empty path" : path): \(reason)")
    }
    guard !path.isEmpty else { throw refuse("give a file name") }
    let destination: OutputDestination
    do {
        destination = try OutputDestination(path: path)
    } catch {
        throw refuse(OutputDestination.reason(error))
    }
    if let problem = destination.problem { throw refuse(problem) }
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
