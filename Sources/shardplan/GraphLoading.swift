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
        let bytes: [UInt8]
        if argument == "-" {
            bytes = Array(FileHandle.standardInput.readDataToEndOfFile())
        } else {
            guard let data = FileManager.default.contents(atPath: argument) else {
                let reason = FileManager.default.fileExists(atPath: argument) ? "the file cannot be read" : "no such file"
                throw InputError(.invalidValue, at: .root, "cannot read the graph: \(reason)", document: argument)
            }
            bytes = Array(data)
        }
        let json = try JSONValue.parseDocument(bytes, document: argument)
        let decoded = clock.now
        do {
            graph = try Graph(json: json)
        } catch {
            throw error.inDocument(argument)
        }
        decodeSeconds = Self.seconds(decoded - start)
        validateSeconds = Self.seconds(clock.now - decoded)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }
}
