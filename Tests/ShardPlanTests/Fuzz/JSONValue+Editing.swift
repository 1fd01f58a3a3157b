@testable import ShardPlan

extension JSONValue {
    /// The value at `path`, if the document has one there.
    func value(at path: JSONPath) -> JSONValue? {
        var node = self
        for component in path.components {
            switch (component, node) {
            case (.key(let key), .object(let object)):
                guard let child = object[key] else { return nil }
                node = child
            case (.index(let index, _), .array(let elements)) where elements.indices.contains(index):
                node = elements[index]
            default:
                return nil
            }
        }
        return node
    }

    /// This document with the value at `path` replaced by `change(value)`; `change` returning nil removes
    /// it. Unchanged when the path leads nowhere.
    func updating(_ path: JSONPath, _ change: (JSONValue) -> JSONValue?) -> JSONValue {
        updating(path.components[...], change)
    }

    private func updating(_ path: ArraySlice<JSONPath.Component>, _ change: (JSONValue) -> JSONValue?) -> JSONValue {
        guard let step = path.first else { return change(self) ?? .null }
        let last = path.count == 1
        switch (self, step) {
        case (.object(var object), .key(let key)):
            guard let child = object[key] else { return self }
            object[key] = last ? change(child) : child.updating(path.dropFirst(), change)
            return .object(object)
        case (.array(var elements), .index(let index, _)) where elements.indices.contains(index):
            if last, let replacement = change(elements[index]) {
                elements[index] = replacement
            } else if last {
                elements.remove(at: index)
            } else {
                elements[index] = elements[index].updating(path.dropFirst(), change)
            }
            return .array(elements)
        default:
            return self
        }
    }
}
