/// A handle to one decision variable of a ``MixedIntegerProgram``.
///
/// ``MixedIntegerProgram/addVariable(name:kind:lowerBound:upperBound:)`` creates handles. A handle
/// belongs to the program that created it (and to copies of that program); using it in another
/// program is reported as ``ModelDefect/foreignVariable(location:)`` when that program is solved.
public struct Variable: Hashable, Sendable {
    /// The position of the variable in ``MixedIntegerProgram/variables`` and ``Solution/values``.
    public let index: Int

    /// The identity of the program that created the handle.
    let programID: UInt64
}

extension Variable {
    /// `coefficient · variable`.
    public static func * (coefficient: Double, variable: Variable) -> LinearExpression {
        LinearExpression(terms: [(variable, coefficient)])
    }

    /// `variable · coefficient`.
    public static func * (variable: Variable, coefficient: Double) -> LinearExpression {
        LinearExpression(terms: [(variable, coefficient)])
    }

    /// The sum of two variables.
    public static func + (lhs: Variable, rhs: Variable) -> LinearExpression {
        LinearExpression(lhs) + LinearExpression(rhs)
    }

    /// The difference of two variables.
    public static func - (lhs: Variable, rhs: Variable) -> LinearExpression {
        LinearExpression(lhs) - LinearExpression(rhs)
    }

    /// An expression plus a variable.
    public static func + (lhs: LinearExpression, rhs: Variable) -> LinearExpression {
        lhs + LinearExpression(rhs)
    }

    /// An expression minus a variable.
    public static func - (lhs: LinearExpression, rhs: Variable) -> LinearExpression {
        lhs - LinearExpression(rhs)
    }

    /// A variable plus an expression.
    public static func + (lhs: Variable, rhs: LinearExpression) -> LinearExpression {
        LinearExpression(lhs) + rhs
    }

    /// A variable minus an expression.
    public static func - (lhs: Variable, rhs: LinearExpression) -> LinearExpression {
        LinearExpression(lhs) - rhs
    }

    /// Adds a variable (coefficient 1) to an expression.
    public static func += (lhs: inout LinearExpression, rhs: Variable) {
        lhs.add(1, rhs)
    }

    /// Subtracts a variable (coefficient 1) from an expression.
    public static func -= (lhs: inout LinearExpression, rhs: Variable) {
        lhs.add(-1, rhs)
    }
}
