@testable import ShardPlan

extension MegatronBridgeConfig.Value {
    /// The Python literal `text` as the emitters write one and NeMo-Run and Python read it: `True`, `False`, `None`,
    /// an integer, a single-quoted string, or a list of such strings (`['core_attn', 'mlp']`, spaces after the
    /// commas or not) or of integers (`[2, 2]`).
    init(python text: String) throws {
        switch text {
        case "True": self = .bool(true)
        case "False": self = .bool(false)
        case "None": self = .none
        default:
            if let number = Int(text) {
                self = .int(number)
            } else if text.count >= 2, text.hasPrefix("'"), text.hasSuffix("'") {
                self = .string(String(text.dropFirst().dropLast()))
            } else if text.hasPrefix("["), text.hasSuffix("]") {
                let items = try text.dropFirst().dropLast().split(separator: ",").map { try Self(python: $0.trimmingCharacters(in: .whitespaces)) }
                if !items.isEmpty, case .int = items[0] {
                    self = .ints(try items.map { item in
                        guard case .int(let number) = item else { throw ReadBackError("\(text) is not a list of integers") }
                        return number
                    })
                } else {
                    self = .strings(try items.map { item in
                        guard case .string(let name) = item else { throw ReadBackError("\(text) is not a list of strings") }
                        return name
                    })
                }
            } else if ["torch.float32", "torch.bfloat16"].contains(text) {
                self = .name(text)
            } else {
                throw ReadBackError("\(text) is not a Python literal")
            }
        }
    }
}
