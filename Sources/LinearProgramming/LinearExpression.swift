/// A linear function of decision variables plus a constant: `Σ coefficient · variable + constant`.
///
/// Terms on the same variable are merged by adding their coefficients, and a term whose
/// coefficient is (or becomes) zero disappears. Build expressions from terms in bulk, or with
/// arithmetic:
///
/// ```swift
/// let cost = LinearExpression(terms: zip(choices, costs))
/// let balance = 2 * x + y - z + 1
/// ```
public struct LinearExpression: Sendable, Equatable {
    /// One `coefficient · variable` product of an expression.
    public struct Term: Sendable, Hashable {
        /// The variable.
        public let variable: Variable
        /// Its coefficient, never zero.
        public let coefficient: Double
    }

    private var coefficients: [Variable: Double]

    /// The constant part.
    public var constant: Double

    /// The expression `constant`, without terms.
    public init(constant: Double = 0) {
        self.coefficients = [:]
        self.constant = constant
    }

    /// The expression `1 · variable`.
    public init(_ variable: Variable) {
        self.init(terms: [(variable, 1)])
    }

    /// The expression `Σ coefficient · variable + constant`; repeated variables are merged.
    public init(terms: some Sequence<(Variable, Double)>, constant: Double = 0) {
        self.init(constant: constant)
        for (variable, coefficient) in terms {
            add(coefficient, variable)
        }
    }

    /// The terms, ordered by variable index.
    public var terms: [Term] {
        coefficients
            .map { Term(variable: $0.key, coefficient: $0.value) }
            .sorted { $0.variable.index < $1.variable.index }
    }

    /// The coefficient of `variable`, zero when the expression does not use it.
    public func coefficient(of variable: Variable) -> Double {
        coefficients[variable] ?? 0
    }

    /// Adds `coefficient · variable`.
    public mutating func add(_ coefficient: Double, _ variable: Variable) {
        let merged = coefficients[variable, default: 0] + coefficient
        coefficients[variable] = merged == 0 ? nil : merged
    }

    /// The value of the expression when variable `i` takes `values[i]`.
    func value(at values: [Double]) -> Double {
        coefficients.reduce(constant) { $0 + $1.value * values[$1.key.index] }
    }
}

extension LinearExpression {
    /// The sum of two expressions.
    public static func + (lhs: LinearExpression, rhs: LinearExpression) -> LinearExpression {
        var sum = lhs
        sum += rhs
        return sum
    }

    /// The difference of two expressions.
    public static func - (lhs: LinearExpression, rhs: LinearExpression) -> LinearExpression {
        var difference = lhs
        difference -= rhs
        return difference
    }

    /// The expression with every coefficient and the constant negated.
    public static prefix func - (operand: LinearExpression) -> LinearExpression {
        -1 * operand
    }

    /// The expression scaled by `coefficient`.
    public static func * (coefficient: Double, expression: LinearExpression) -> LinearExpression {
        var scaled = LinearExpression(constant: coefficient * expression.constant)
        for (variable, value) in expression.coefficients {
            scaled.add(coefficient * value, variable)
        }
        return scaled
    }

    /// The expression scaled by `coefficient`.
    public static func * (expression: LinearExpression, coefficient: Double) -> LinearExpression {
        coefficient * expression
    }

    /// The expression plus a constant.
    public static func + (lhs: LinearExpression, rhs: Double) -> LinearExpression {
        var sum = lhs
        sum.constant += rhs
        return sum
    }

    /// The expression minus a constant.
    public static func - (lhs: LinearExpression, rhs: Double) -> LinearExpression {
        lhs + -rhs
    }

    /// Adds an expression in place.
    public static func += (lhs: inout LinearExpression, rhs: LinearExpression) {
        for (variable, coefficient) in rhs.coefficients {
            lhs.add(coefficient, variable)
        }
        lhs.constant += rhs.constant
    }

    /// Subtracts an expression in place.
    public static func -= (lhs: inout LinearExpression, rhs: LinearExpression) {
        for (variable, coefficient) in rhs.coefficients {
            lhs.add(-coefficient, variable)
        }
        lhs.constant -= rhs.constant
    }
}
