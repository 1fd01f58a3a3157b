import Foundation
import ShardPlan

/// A command's GRAPH argument (a file path, or `-` for standard input) read and validated, with the
/// seconds each step took: decoding the JSON text (reading included), then validating it into a `Graph`
/// (names, shapes, op rules). Problems are `InputError`s naming the document; `reportingInputErrors`
/// prints them.
struct GraphLoading {
    var graph: Graph
    var decodeSeconds: Double
    var validateSeconds: Double

    init(_ argument: String) throws(InputError) {
        let clock = ContinuousClock()
        let start = clock.now
        let json = try Self.document(argument, what: "graph")
        let decoded = clock.now
        do {
            graph = try warningOfMisspellings(in: Self.documentName(argument)) { () throws(InputError) in try Graph(json: json) }
        } catch {
            throw error.inDocument(Self.documentName(argument))
        }
        decodeSeconds = Self.seconds(decoded - start)
        validateSeconds = Self.seconds(clock.now - decoded)
    }

    /// The JSON document at `argument` (a file path, or `-` for standard input).
    static func document(_ argument: String, what: String = "document") throws(InputError) -> JSONValue {
        let bytes: [UInt8]
        if argument == "-" {
            bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
        } else {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory)
            guard exists, !isDirectory.boolValue, let data = fileBytes(atPath: argument) else {
                let reason = !exists ? "no such file" : isDirectory.boolValue ? "it is a directory, not a file" : "the file cannot be read"
                throw InputError(.invalidValue, at: .root, "cannot read the \(what): \(reason)", document: argument)
            }
            bytes = data
        }
        return try JSONValue.parseDocument(bytes, document: documentName(argument))
    }

    /// How errors name the document at `argument`: its path, or "standard input" for `-`.
    static func documentName(_ argument: String) -> String { argument == "-" ? "standard input" : argument }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
