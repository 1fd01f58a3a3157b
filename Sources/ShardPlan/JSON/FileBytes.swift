import Foundation

/// The bytes of the file at `path`, read to its end: a regular file, or a pipe, a FIFO or `/dev/fd/N` (a shell's
/// process substitution, `<(jq ... plan.json)`), which `FileManager.contents(atPath:)` does not read; nil where
/// it cannot be opened or read (a directory, a file without read permission).
public func fileBytes(atPath path: String) -> [UInt8]? {
    guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
    defer { try? handle.close() }
    do {
        return [UInt8](try handle.readToEnd() ?? Data())
    } catch {
        return nil
    }
}
