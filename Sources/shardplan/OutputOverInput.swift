import ArgumentParser
import Foundation

/// Whether two command-line paths name the same file, so that an output does not replace an input or another
/// output: the same place to write once links are followed (`writesTo`: a dangling link and the file it would
/// create, `/dev/stdout` and `-`), or the same file-system node where both exist (a hard link, another spelling
/// on a case-insensitive volume).
func namesSameFile(_ first: String, _ second: String) -> Bool {
    let (targetA, targetB) = (writesTo(first), writesTo(second))
    if targetA == targetB { return true }
    let manager = FileManager.default
    guard let a = try? manager.attributesOfItem(atPath: targetA), let b = try? manager.attributesOfItem(atPath: targetB),
          let nodeA = a[.systemFileNumber] as? NSNumber, let nodeB = b[.systemFileNumber] as? NSNumber,
          let deviceA = a[.systemNumber] as? NSNumber, let deviceB = b[.systemNumber] as? NSNumber else { return false }
    return nodeA == nodeB && deviceA == deviceB
}

/// Where an output path writes, to tell two outputs apart: an open descriptor (`-` and `/dev/stdout` are
/// descriptor 1), or the absolute path of the file the path leads to once links are followed (`OutputDestination`).
func writesTo(_ path: String) -> String {
    switch path == "-" ? .descriptor(1) : try? OutputDestination(path: path) {
    case .descriptor(let descriptor)?: "descriptor \(descriptor)"
    case .file(let file)?, .special(let file)?, .directory(let file)?: URL(fileURLWithPath: file).standardizedFileURL.path
    case nil: URL(fileURLWithPath: path).standardizedFileURL.path
    }
}

/// Refuses any of `outputs` (each option and its path) that names one of the files a command reads (`inputs`: what
/// each is, and its path where it is a file): the output would replace the input it was made from. Standard
/// input and output (`-`) are no files.
func refuseOverwriting(_ outputs: [(option: String, path: String?)], inputs: [(what: String, path: String?)]) throws {
    for case let (option, destination?) in outputs where destination != "-" {
        for case let (what, path?) in inputs where path != "-" && namesSameFile(path, destination) {
            throw ValidationError("\(option) names \(destination), the \(what) this command reads; writing there would replace it, so give another file.")
        }
    }
}
