extension JSONPath {
    /// Where this path's value ends when `document` is read from the top, as a sort key: the position of
    /// each step among its siblings (an object's member in the order it was written, an array's element by
    /// index), then the end of the value. Comparing keys lexicographically orders problems the way a person
    /// meets them reading the file: a problem inside a value comes before one about the value as a whole (a
    /// missing member, an op no stage covers), which shows only once all of it has been read.
    ///
    /// A step the document lacks (a member that is not there) sits at the end of its container.
    func documentPosition(in document: JSONValue) -> [Int] {
        var key: [Int] = []
        var node: JSONValue? = document
        for component in components {
            switch (component, node) {
            case (.key(let name), .object(let object)?):
                let position = object.position(of: name)
                key.append(position ?? object.members.count)
                node = position.map { object.members[$0].value }
            case (.index(let index, _), .array(let elements)?):
                key.append(index)
                node = elements.indices.contains(index) ? elements[index] : nil
            case (.key, _):
                key.append(Int.max - 1)
                node = nil
            case (.index(let index, _), _):
                key.append(index)
                node = nil
            }
        }
        key.append(Int.max)
        return key
    }

    /// Of `paths`, the one whose value ends last in `document`: where a problem that involves all of them
    /// shows.
    static func latest(_ paths: [JSONPath], in document: JSONValue) -> JSONPath {
        paths.max { $0.documentPosition(in: document).lexicographicallyPrecedes($1.documentPosition(in: document)) } ?? .root
    }
}
