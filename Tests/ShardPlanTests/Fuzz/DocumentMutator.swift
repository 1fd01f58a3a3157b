@testable import ShardPlan

/// Breaks a valid JSON document in small random ways, reproducibly (SplitMix64 from a seed), the way a hand
/// edit, a truncated copy or a hostile file would: it drops, duplicates, reorders and renames members and
/// elements, gives values another type, truncates arrays and strings, swaps in extreme numbers (0, -1, 2^53,
/// 2^63, 1e308, NaN, infinity), words from the format's vocabulary, huge arrays and deep nesting; and on the
/// text, garbles bytes, inserts invalid UTF-8, tokens JSON does not allow (NaN, Infinity, 1e999) and cuts
/// the document short.
struct DocumentMutator: RandomNumberGenerator {
    private var random: SplitMix64
    /// Strings the format uses (op kinds, dtypes, axis names, member names), which reach deeper into a
    /// decoder than random text.
    let vocabulary: [String]

    /// How often (out of 10) a mutation changes one number everywhere it appears rather than one value.
    let resizing: Int

    init(seed: UInt64, vocabulary: [String] = [], resizing: Int = 2) {
        random = SplitMix64(seed: seed)
        self.vocabulary = vocabulary
        self.resizing = resizing
    }

    mutating func next() -> UInt64 { random.next() }

    static let numbers: [Double] = [0, -0.0, -1, 1, 2, 3, 4, 7, 8, -7, 0.5, 1.5, 1e-308, 1e15, 67_108_864, 2_147_483_648, 9_007_199_254_740_991,
                                    9_007_199_254_740_992, 9_007_199_254_740_994, 4_294_967_296, 4_611_686_018_427_387_904,
                                    9_223_372_036_854_775_808, 1e20, 1e300, 1e308, -1e308, 1_048_576, 1_048_577,
                                    .nan, .infinity, -.infinity]
    /// Sizes a valid document could have, small, odd and huge.
    static let sizes: [Double] = [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 64, 1000, 4096, 65_536, 1_048_576, 67_108_864, 2_147_483_648]
    private static let strings = ["", "x", "y", "...", "a...b", "ab->", "->", "i,j", "bf16", "i32", "bool", "sum", "max", "avg",
                                  "null", "NaN", "\u{0}", "é", "\u{1F600}", String(repeating: "z", count: 5000)]

    /// `value` after `count` random mutations.
    mutating func mutate(_ value: JSONValue, count: Int) -> JSONValue {
        var result = value
        for _ in 0..<count {
            if Int.random(in: 0..<10, using: &self) < resizing, let number = Self.someNumber(in: result, using: &self) {
                // One size changed everywhere it appears: the document stays consistent, and extreme sizes
                // reach past the decoder into what the commands compute.
                let replacement = Bool.random(using: &self) ? Self.sizes.randomElement(using: &self)! : Self.numbers.randomElement(using: &self)!
                result = Self.replacing(number, with: replacement, in: result)
            } else {
                result = result.updating(randomPath(in: result)) { node in mutateNode(node) }
            }
        }
        return result
    }

    /// A number of `value`, found by a random walk.
    private static func someNumber(in value: JSONValue, using random: inout DocumentMutator) -> Double? {
        let children: [JSONValue]
        switch value {
        case .number(let number): return number
        case .object(let object): children = object.members.map(\.value)
        case .array(let elements): children = elements
        default: return nil
        }
        for child in children.shuffled(using: &random) {
            if let number = someNumber(in: child, using: &random) { return number }
        }
        return nil
    }

    private static func replacing(_ number: Double, with replacement: Double, in value: JSONValue) -> JSONValue {
        switch value {
        case .number(let found) where found == number: return .number(replacement)
        case .object(let object): return .object(JSONObject(object.members.map { ($0.key, replacing(number, with: replacement, in: $0.value)) }))
        case .array(let elements): return .array(elements.map { replacing(number, with: replacement, in: $0) })
        default: return value
        }
    }

    /// A random value of `document`: a walk from the top that stops at each container with probability 1/4
    /// and otherwise enters one of its members or elements.
    private mutating func randomPath(in document: JSONValue) -> JSONPath {
        var components: [JSONPath.Component] = []
        var node = document
        // The top level itself is left alone: replacing the whole document says nothing new.
        while components.isEmpty || Int.random(in: 0..<4, using: &self) != 0 {
            switch node {
            case .object(let object) where !object.members.isEmpty:
                var member = object.members.randomElement(using: &self)!
                // A document's format is one check, made first: changing it, mostly, would say nothing new.
                if member.key == "format" && Int.random(in: 0..<10, using: &self) != 0 { member = object.members.randomElement(using: &self)! }
                components.append(.key(member.key))
                node = member.value
            case .array(let elements) where !elements.isEmpty:
                let index = Int.random(in: 0..<elements.count, using: &self)
                components.append(.index(index, label: nil))
                node = elements[index]
            default:
                return JSONPath(components)
            }
        }
        return JSONPath(components)
    }

    /// `text` with a few bytes changed, removed, inserted or cut off.
    mutating func garble(_ text: [UInt8]) -> [UInt8] {
        var bytes = text
        let noise: [UInt8] = Array("{}[],:\"\\-0123456789.eE truefalsenull\n\u{7F}".utf8) + [0x00, 0xC3, 0xFF, 0xC0, 0xED, 0x80]
        let tokens = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "01", "1.", ".5", "0x10", "+1", "1e", "\u{FEFF}",
                      "\"\\ud800\"", "\"\\u00\"", "//", "/*", ",]", ",}"].map { Array($0.utf8) }
            + [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]]
        for _ in 0..<Int.random(in: 1...4, using: &self) where !bytes.isEmpty {
            let position = Int.random(in: 0..<bytes.count, using: &self)
            switch Int.random(in: 0..<6, using: &self) {
            case 0: bytes[position] = noise.randomElement(using: &self)!
            case 1: bytes.remove(at: position)
            case 2: bytes.insert(noise.randomElement(using: &self)!, at: position)
            case 3: bytes.insert(contentsOf: tokens.randomElement(using: &self)!, at: position)
            case 4: bytes.removeSubrange(position...)
            default:
                // A number token replaced by one JSON does not allow.
                if let digit = bytes[position...].firstIndex(where: { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) {
                    let end = bytes[digit...].firstIndex { !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } ?? bytes.endIndex
                    bytes.replaceSubrange(digit..<end, with: tokens[Int.random(in: 0..<5, using: &self)])
                }
            }
        }
        return bytes
    }

    private mutating func mutateNode(_ node: JSONValue) -> JSONValue {
        switch (node, Int.random(in: 0..<10, using: &self)) {
        case (.object(var object), 0) where !object.members.isEmpty:
            object[object.keys.randomElement(using: &self)!] = nil
            return .object(object)
        case (.object(let object), 1) where !object.members.isEmpty:
            // Members in another order, or one renamed (a typo, or a duplicate under a second name).
            var members = object.members
            if Bool.random(using: &self) {
                members.shuffle(using: &self)
            } else {
                let index = Int.random(in: 0..<members.count, using: &self)
                let renamed = Bool.random(using: &self) ? garbled(members[index].key) : vocabulary.randomElement(using: &self) ?? "x"
                members.append((renamed, members[index].value))
                if Bool.random(using: &self) { members.remove(at: index) }
            }
            var result = JSONObject()
            for member in members where result[member.key] == nil { result[member.key] = member.value }
            return .object(result)
        case (.array(var elements), 0) where !elements.isEmpty:
            elements.remove(at: Int.random(in: 0..<elements.count, using: &self))
            return .array(elements)
        case (.array(var elements), 1) where !elements.isEmpty:
            // Duplicated or reordered elements: repeated names, forward references, a stage listed twice.
            let from = Int.random(in: 0..<elements.count, using: &self)
            let to = Int.random(in: 0..<elements.count, using: &self)
            if Bool.random(using: &self) { elements.insert(elements[from], at: to) } else { elements.swapAt(from, to) }
            return .array(elements)
        case (.array(let elements), 2) where !elements.isEmpty:
            return .array(Array(elements.prefix(Int.random(in: 0..<elements.count, using: &self))))
        case (.array(let elements), 3) where !elements.isEmpty && Int.random(in: 0..<3, using: &self) == 0:
            // A huge array: one element many times (up to about a megabyte of text, so that a case stays cheap).
            let element = elements.randomElement(using: &self)!
            let most = max(100, 1_000_000 / max(JSONWriter.compact(element).utf8.count, 1))
            return .array(Array(repeating: element, count: Int.random(in: 100...min(5000, most), using: &self)))
        case (.number, 0...4):
            return .number(Self.numbers.randomElement(using: &self)!)
        case (.number(let number), 5...7):
            return .number(number * [2, 10, 1000, 0.5, -1, 1_048_576.0].randomElement(using: &self)! + [0.0, 1, -1].randomElement(using: &self)!)
        case (.string(let text), 0...2):
            return .string(garbled(text))
        case (.string(let text), 3):
            return .string(String(text.prefix(Int.random(in: 0...max(text.count - 1, 0), using: &self))))
        case (.string, 4...7):
            return .string((vocabulary + Self.strings).randomElement(using: &self)!)
        case (.object(var object), 2...7) where !object.members.isEmpty:
            let key = object.keys.randomElement(using: &self)!
            object[key] = mutateNode(object[key]!)
            return .object(object)
        case (.array(var elements), 2...7) where !elements.isEmpty:
            let index = Int.random(in: 0..<elements.count, using: &self)
            elements[index] = mutateNode(elements[index])
            return .array(elements)
        case (_, 8):
            // Deep nesting, past what any format reads (and, as text, past the parser's limit).
            var nested = node
            for _ in 0..<Int.random(in: 2...600, using: &self) { nested = Bool.random(using: &self) ? .array([nested]) : ["x": nested] }
            return nested
        default:
            let replacements: [JSONValue] = [.null, .bool(true), .bool(false), .number(3), .number(-1), .number(.nan), .string("x"),
                                             .array([]), .object(JSONObject()), .ints([2, 0]), .ints([1 << 40, 1 << 40]),
                                             .strings(["x", "x"]), [nil], ["x": 1]]
            return replacements.randomElement(using: &self)!
        }
    }

    private mutating func garbled(_ text: String) -> String {
        var characters = Array(text)
        let pieces: [Character] = [".", ",", "-", ">", "a", "b", "z", "1", " ", "\u{0}", "é", "\""]
        if !characters.isEmpty, Bool.random(using: &self) {
            characters.remove(at: Int.random(in: 0..<characters.count, using: &self))
        } else {
            characters.insert(pieces.randomElement(using: &self)!, at: Int.random(in: 0...characters.count, using: &self))
        }
        return String(characters)
    }
}
