import Foundation

/// Where an output option's path leads, as a person expects `-o` to write:
/// - `/dev/stdout`, `/dev/stderr`, `/dev/fd/N` and `/proc/self/fd/N` to that open file descriptor, as the shell
///   set it up (appending where it appends), however it is reached;
/// - a symbolic link to the file it names, read relative to the link's folder (a dangling link creates it);
/// - a FIFO, a device or another file that is not a regular one into it, as it is (`/dev/null`, a named pipe);
/// - a regular file, or a new one, whole or not at all: a temporary file beside it, given an existing file's
///   permissions, is renamed over it, so a failure leaves the old file as it was.
enum OutputDestination: Equatable {
    case descriptor(Int32)
    case special(path: String)
    case file(path: String)
    case directory(path: String)

    /// The destination `path` leads to, following symbolic links; throws on a loop of links.
    init(path: String) throws {
        var current = path
        for _ in 0 ..< 40 {
            if let descriptor = Self.descriptor(named: current) {
                self = .descriptor(descriptor)
                return
            }
            guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else {
                switch (try? FileManager.default.attributesOfItem(atPath: current))?[.type] as? FileAttributeType {
                case nil, .typeRegular?: self = .file(path: current)
                case .typeDirectory?: self = .directory(path: current)
                default: self = .special(path: current)
                }
                return
            }
            current = link.hasPrefix("/") ? link : ((current as NSString).deletingLastPathComponent as NSString).appendingPathComponent(link)
        }
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "too many levels of symbolic links"])
    }

    /// The file descriptor a path names directly (`/dev/stdout`, `/dev/fd/3`, `/proc/self/fd/3`), if it names one.
    static func descriptor(named path: String) -> Int32? {
        switch path {
        case "/dev/stdout": return 1
        case "/dev/stderr": return 2
        default:
            for prefix in ["/dev/fd/", "/proc/self/fd/"] where path.hasPrefix(prefix) {
                return Int32(path.dropFirst(prefix.count))
            }
            return nil
        }
    }

    /// Writes `data` here; a directory is refused.
    func write(_ data: Data) throws {
        guard let staged = try stage(data) else { return }
        do { try staged.commit() } catch {
            staged.discard()
            throw error
        }
    }

    /// Writes `data` where it goes, or for a regular file beside it (with the file's permissions) for `commit` to put
    /// in place: a reader never sees half a file, and several outputs can be committed together once all are written.
    /// Nil where the data went straight to its destination (a descriptor or a special file).
    func stage(_ data: Data) throws -> StagedFile? {
        switch self {
        case .descriptor(let descriptor):
            try FileHandle(fileDescriptor: descriptor, closeOnDealloc: false).write(contentsOf: data)
            return nil
        case .special(let path):
            try data.write(to: URL(fileURLWithPath: path))
            return nil
        case .directory:
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "it is a directory"])
        case .file(let path):
            let temporary = Self.folder(of: path) + "/." + (path as NSString).lastPathComponent + ".shardplan-\(UUID().uuidString)"
            let staged = StagedFile(temporary: temporary, path: path, pending: StagedFileCleanup.note(temporary))
            do {
                // Written through a descriptor, so that a failure (a full disk, a file-size limit) is reported in
                // the operating system's words.
                let descriptor = open(staged.temporary, O_WRONLY | O_CREAT | O_EXCL, 0o666)
                guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
                let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
                try handle.write(contentsOf: data)
                try handle.close()
                if let permissions = (try? FileManager.default.attributesOfItem(atPath: path))?[.posixPermissions] {
                    try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: staged.temporary)
                }
            } catch {
                staged.discard()
                throw error
            }
            return staged
        }
    }

    /// A file written beside the one it replaces, not yet in its place; a signal that ends the process meanwhile
    /// removes it (`StagedFileCleanup`, slot `pending`).
    struct StagedFile {
        let temporary: String
        let path: String
        let pending: Int?

        /// Renames the written file over its destination.
        func commit() throws {
            guard rename(temporary, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            StagedFileCleanup.forget(pending)
        }

        /// Removes the written file.
        func discard() {
            try? FileManager.default.removeItem(atPath: temporary)
            StagedFileCleanup.forget(pending)
        }
    }

    /// The folder `path` is in: `.` for a bare file name.
    private static func folder(of path: String) -> String {
        let folder = (path as NSString).deletingLastPathComponent
        return folder.isEmpty ? "." : folder
    }

    /// What went wrong in `error`, in the operating system's words where it gave them ("Bad file descriptor",
    /// "No space left on device") rather than Foundation's wrapper ("The operation could not be completed").
    static func reason(_ error: Error) -> String {
        var error = error as NSError
        while let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError { error = underlying }
        if error.domain == NSPOSIXErrorDomain, let code = Int32(exactly: error.code), let text = strerror(code) {
            return String(cString: text)
        }
        return error.localizedDescription
    }

    /// Why this destination cannot be written, checked before a command does its work; nil where it can.
    var problem: String? {
        switch self {
        case .descriptor:
            return nil
        case .special(let path):
            return FileManager.default.isWritableFile(atPath: path) ? nil : "it is not writable"
        case .directory:
            return "it is a directory"
        case .file(let path):
            let folder = Self.folder(of: path)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                return "no folder \(folder)"
            }
            return FileManager.default.isWritableFile(atPath: folder) ? nil : "the folder \(folder) is not writable"
        }
    }
}
