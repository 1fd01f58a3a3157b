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
