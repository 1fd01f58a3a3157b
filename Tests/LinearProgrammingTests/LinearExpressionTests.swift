import LinearProgramming
import Testing

@Suite("Linear expressions")
struct LinearExpressionTests {
    @Test("Repeated variables merge and cancelled terms disappear")
    func mergesTerms() {
        var program = MixedIntegerProgram()
        let x = program.addVariable(name: "x")
        let y = program.addVariable(name: "y")
        let z = program.addVariable(name: "z")

        let expression = LinearExpression(terms: [(y, 2), (x, 1), (y, 3), (z, 4), (z, -4)], constant: 7)

        #expect(expression.terms.map(\.variable) == [x, y])
        #expect(expression.coefficient(of: x) == 1)
        #expect(expression.coefficient(of: y) == 5)
        #expect(expression.coefficient(of: z) == 0)
        #expect(expression.constant == 7)
    }

    @Test("Arithmetic builds the same expression as a list of terms")
    func arithmetic() {
        var program = MixedIntegerProgram()
        let x = program.addVariable()
        let y = program.addVariable()
        let z = program.addVariable()

        var built = 2 * x + y - 3 * z + 1
        built += x
        built -= LinearExpression(y)
        built = -(built * 2) + 5

        #expect(built == LinearExpression(terms: [(x, -6), (z, 6)], constant: 3))
        #expect(x - x == LinearExpression())
    }
}
