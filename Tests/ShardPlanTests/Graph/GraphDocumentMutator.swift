@testable import ShardPlan

/// Breaks a valid JSON document in small random ways, reproducibly (SplitMix64 from a seed): deletes
/// members and elements, turns numbers into 0, -1 or huge values, swaps value types, reorders and
/// duplicates array elements, and garbles strings.
struct GraphDocumentMutator: RandomNumberGenerator {
    private var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { random.next() }

    /// One step from a container to a child.
    private enum Step {
        case key(String)
        case index(Int)
    }

    private static let numbers: [Double] = [0, -1, 1, 2, 3, -7, 0.5, 1.5, 1e15, 9_007_199_254_740_991, 1e300, -1e300,
                                            4_294_967_296, 4_611_686_018_427_387_904]
    private static let strings = ["", "x", "gelu2", "bd,df->bf", "...", "a...b", "ab->", "->", "i,j", "bf16", "i32", "bool",
                                  "sum", "max", "avg", "shardplan.graph/1"] + Operator.catalogNames

    /// `value` after `count` random mutations.
    mutating func mutate(_ value: JSONValue, count: Int) -> JSONValue {
        var result = value
        for _ in 0..<count {
            let paths = Self.paths(in: result)
            guard let path = paths.randomElement(using: &self) else { break }
            result = Self.modify(result, at: path[...]) { node in mutateNode(node, siblingsOf: path) }
        }
        return result
    }

    /// `text` with a few bytes changed, removed or cut off.
    mutating func garble(_ text: [UInt8]) -> [UInt8] {
        var bytes = text
        let noise: [UInt8] = Array("{}[],:\"\\-0123456789.eE truefalsenull\n\u{7F}".utf8) + [0x00, 0xC3, 0xFF]
        for _ in 0..<Int.random(in: 1...4, using: &self) where !bytes.isEmpty {
            let position = Int.random(in: 0..<bytes.count, using: &self)
            switch Int.random(in: 0..<4, using: &self) {
            case 0: bytes[position] = noise.randomElement(using: &self)!
            case 1: bytes.remove(at: position)
            case 2: bytes.insert(noise.randomElement(using: &self)!, at: position)
            default: bytes.removeSubrange(position...)
            }
        }
        return bytes
    }

    private mutating func mutateNode(_ node: JSONValue, siblingsOf path: [Step]) -> JSONValue {
        switch (node, Int.random(in: 0..<4, using: &self)) {
        case (.object(var object), 0) where !object.members.isEmpty:
            object[object.keys.randomElement(using: &self)!] = nil
            return .object(object)
        case (.array(var elements), 0) where !elements.isEmpty:
            elements.remove(at: Int.random(in: 0..<elements.count, using: &self))
            return .array(elements)
        case (.array(var elements), 1) where !elements.isEmpty:
            // Duplicating or reordering ops gives duplicate names and forward references.
            let from = Int.random(in: 0..<elements.count, using: &self)
            let to = Int.random(in: 0..<elements.count, using: &self)
            if Bool.random(using: &self) { elements.insert(elements[from], at: to) } else { elements.swapAt(from, to) }
            return .array(elements)
        case (.number, _):
            return .number(Self.numbers.randomElement(using: &self)!)
        case (.string(let text), 0...1):
            return .string(garbled(text))
        case (.string, 2):
            return .string(Self.strings.randomElement(using: &self)!)
        default:
            let replacements: [JSONValue] = [.null, .bool(true), .number(3), .string("x"), .array([]), .object(JSONObject()),
                                             .ints([2, 0]), .strings(["x", "x"])]
            return replacements.randomElement(using: &self)!
        }
    }

    private mutating func garbled(_ text: String) -> String {
        var characters = Array(text)
        let pieces: [Character] = [".", ",", "-", ">", "a", "b", "z", "1", " "]
        if !characters.isEmpty, Bool.random(using: &self) {
            characters.remove(at: Int.random(in: 0..<characters.count, using: &self))
        } else {
            characters.insert(pieces.randomElement(using: &self)!, at: Int.random(in: 0...characters.count, using: &self))
        }
        return String(characters)
    }

    private static func paths(in value: JSONValue) -> [[Step]] {
        var result: [[Step]] = [[]]
        switch value {
        case .object(let object):
            for member in object.members {
                result += paths(in: member.value).map { [.key(member.key)] + $0 }
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                result += paths(in: element).map { [.index(index)] + $0 }
            }
        default: break
        }
        return result
    }

    private static func modify(_ value: JSONValue, at path: ArraySlice<Step>, _ change: (JSONValue) -> JSONValue) -> JSONValue {
        guard let step = path.first else { return change(value) }
        switch (value, step) {
        case (.object(var object), .key(let key)):
            if let child = object[key] { object[key] = modify(child, at: path.dropFirst(), change) }
            return .object(object)
        case (.array(var elements), .index(let index)) where elements.indices.contains(index):
            elements[index] = modify(elements[index], at: path.dropFirst(), change)
            return .array(elements)
        default:
            return value
        }
    }
}
