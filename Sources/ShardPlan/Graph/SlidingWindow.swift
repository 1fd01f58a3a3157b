/// The band of query-key pairs sliding-window (local) causal attention reads: query i (1-based) sees keys j with
/// i - w < j <= i, so min(i, w) keys. Over t tokens that is `w (w + 1) / 2 + (t - w) w` pairs for w < t (the first
/// w queries fill a triangle, the other t - w read w keys each) and `t (t + 1) / 2`, full causal attention, for
/// w >= t.
public enum SlidingWindow {
    /// The window that narrows attention over `keys` keys: `window` where it is shorter than the keys, nil where
    /// there is none or it reaches back past the first key (full causal attention).
    public static func narrowing(_ window: Int?, keys: Int) -> Int? {
        guard let window, window < keys else { return nil }
        return window
    }

    /// Query-key pairs a causal window of `window` keys reads over `tokens` tokens (queries and keys alike).
    public static func pairs(tokens: Double, window: Double) -> Double {
        guard window < tokens else { return tokens * (tokens + 1) / 2 }
        return window * (window + 1) / 2 + (tokens - window) * window
    }

    /// The band's share of the full `tokens x tokens` score matrix.
    public static func share(tokens: Double, window: Double) -> Double {
        tokens > 0 ? pairs(tokens: tokens, window: window) / (tokens * tokens) : 0
    }
}
