import Foundation

/// The cluster a command-line argument names: a preset (`dgx-a100-80g`, `dgx-a100-80g:16`) or the path of a
/// `shardplan.cluster/1` file. Preset names win over files of the same name (write `./dgx-h100` for the file).
public func resolveCluster(_ argument: String) throws(InputError) -> Cluster {
    guard clusterFile(named: argument) != nil else { return try Cluster.preset(named: argument) }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
        throw InputError(.invalidReference, at: .root,
                         "\"\(argument)\" is neither a cluster file nor a preset; the presets are \(ClusterPreset.nameList) (NAME:K for K nodes)")
    }
    guard !isDirectory.boolValue else {
        throw InputError(.invalidReference, at: .root, "\"\(argument)\" is a directory, not a cluster file")
    }
    guard let contents = fileBytes(atPath: argument) else {
        throw InputError(.invalidReference, at: .root, "cannot read the cluster file \"\(argument)\"")
    }
    // A file read while another document is decoded (a row of `calibrate`'s naming it) is a document of its own.
    return try MemberReads.separately(document: argument) { () throws(InputError) in try Cluster(jsonBytes: contents, document: argument) }
}

/// The file a `--cluster` argument names, or nil where it names a preset (`dgx-h100`, `dgx-h100:4`): preset
/// names win over files of the same name, as `resolveCluster` reads them.
public func clusterFile(named argument: String) -> String? {
    let presetName = argument.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)[0]
    return ClusterPreset.named(String(presetName)) == nil ? argument : nil
}

extension Cluster {
    /// How reports title the cluster a command-line argument named: the argument, after the name a cluster file
    /// gives itself where it gives one (`4x DGX A100 80GB from lab.json`); a preset as its argument
    /// (`dgx-a100-80g:8`). Reports escape it (`VisibleText`): a file's name may hold a line break.
    public func title(asNamed argument: String) -> String {
        clusterFile(named: argument) == nil || name == Cluster.unnamed || name == argument
            || name.allSatisfy(\.isWhitespace) ? argument : "\(name) from \(argument)"
    }
}
