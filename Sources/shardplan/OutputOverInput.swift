import ArgumentParser
import Foundation

/// Whether two command-line paths name the same file, so that an output does not replace an input or another
/// output: the same file-system node where both exist (a hard link, another spelling on a case-insensitive
/// volume), else the same path once `.`, `..` and symbolic links are resolved.
func namesSameFile(_ first: String, _ second: String) -> Bool {
    let manager = FileManager.default
    if let a = try? manager.attributesOfItem(atPath: first), let b = try? manager.attributesOfItem(atPath: second),
       let nodeA = a[.systemFileNumber] as? NSNumber, let nodeB = b[.systemFileNumber] as? NSNumber,
       let deviceA = a[.systemNumber] as? NSNumber, let deviceB = b[.systemNumber] as? NSNumber {
        return nodeA == nodeB && deviceA == deviceB
    }
    func location(_ path: String) -> URL { URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath() }
    return location(first) == location(second)
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
