extension Int {
    /// The positive divisors of this positive number, ascending (empty for 0 or less): found in pairs up to its
    /// square root, so a batch of 2^40 samples takes a million steps, not a trillion.
    var divisors: [Int] {
        guard self >= 1 else { return [] }
        var small: [Int] = [], large: [Int] = []
        var candidate = 1
        while candidate <= self / candidate {
            if self % candidate == 0 {
                small.append(candidate)
                if candidate != self / candidate { large.append(self / candidate) }
            }
            candidate += 1
        }
        return small + large.reversed()
    }
}
