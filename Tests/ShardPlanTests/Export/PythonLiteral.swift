@testable import ShardPlan

extension MegatronBridgeConfig.Value {
    /// The Python literal `text` as the emitters write one and NeMo-Run and Python read it: `True`, `False`, `None`,
    /// an integer, a single-quoted string, or a list of such strings (`['core_attn', 'mlp']`, spaces after the
    /// commas or not).
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
                self = .strings(try text.dropFirst().dropLast().split(separator: ",").map {
                    guard case .string(let name) = try Self(python: $0.trimmingCharacters(in: .whitespaces)) else {
                        throw ReadBackError("\(text) is not a list of strings")
                    }
                    return name
                })
            } else if ["torch.float32", "torch.bfloat16"].contains(text) {
                self = .name(text)
            } else {
                throw ReadBackError("\(text) is not a Python literal")
            }
        }
    }
}
