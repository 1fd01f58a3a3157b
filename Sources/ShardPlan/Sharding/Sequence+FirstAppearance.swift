extension Sequence where Element: Hashable {
    /// The distinct elements in order of first appearance, and for each element its position among them: how
    /// strategies that look alike to an edge are grouped, and how group numbers are renumbered densely.
    func numberedByFirstAppearance() -> (numbers: [Int], distinct: [Element]) {
        var position: [Element: Int] = [:]
        var distinct: [Element] = []
        let numbers = map { element in
            if let known = position[element] { return known }
            position[element] = distinct.count
            distinct.append(element)
            return distinct.count - 1
        }
        return (numbers, distinct)
    }
}
