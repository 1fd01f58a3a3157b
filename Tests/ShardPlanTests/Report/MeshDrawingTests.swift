import Testing
@testable import ShardPlan

@Suite("Mesh drawings: the long axis across and wrapped, grids grouped in blocks, every square inside and apart")
struct MeshDrawingTests {
    @Test("the QA's 256 x 4 mesh (GPT-3 175B at tp=4 dp=256) is 4 squares high in 8 bands of 32, not a strip 1,550 px tall")
    func tallMesh() {
        let drawing = MeshDrawing(shape: [256, 4])
        #expect(drawing.cell == 6)
        // 32 squares of 6 px across; 8 bands of 4 rows (24 px) with 4 px between them; a 1 px margin round it.
        #expect(drawing.width == 194 && drawing.height == 222)
        #expect(drawing.placements == ["across, wrapped every 32", "down"])
        #expect(drawing.origins[0] == (1, 1))
        // (x 0, y 1) one row down; (x 1, y 0) one column across; (x 32, y 0) starts the second band.
        #expect(drawing.origins[1] == (1, 7) && drawing.origins[4] == (7, 1) && drawing.origins[128] == (1, 29))
        // (x 255, y 3): column 31 of band 7, row 3.
        #expect(drawing.origins[1023] == (187, 215))
    }

    @Test("the QA's 64 x 2 mesh (Llama 3 70B on 16 DGX H100) is two bands of 2 x 32")
    func longMesh() {
        let drawing = MeshDrawing(shape: [64, 2])
        #expect(drawing.width == 194 && drawing.height == 30)
        #expect(drawing.placements == ["across, wrapped every 32", "down"])
    }

    @Test("the QA's 1 x 8 x 4 mesh (cp=8 x tp=4) is a grid of 4 rows of 8, not one row of 32; an axis of one device is not drawn")
    func contextParallelMesh() {
        let drawing = MeshDrawing(shape: [1, 8, 4])
        #expect(drawing.cell == 18 && drawing.width == 146 && drawing.height == 74)
        #expect(drawing.placements == [nil, "across", "down"])
        // (y 0, z 1) one row down; (y 1, z 0) one column across.
        #expect(drawing.origins[1] == (1, 19) && drawing.origins[4] == (19, 1))
    }

    @Test("a third axis repeats the grid as blocks, 8 px apart")
    func blocks() {
        let drawing = MeshDrawing(shape: [2, 8, 4])
        #expect(drawing.width == 298 && drawing.height == 74)
        #expect(drawing.placements == ["a block each", "across", "down"])
        // (x 1, y 0, z 0): the second block's first square, 144 + 8 px right of the first.
        #expect(drawing.origins[32] == (153, 1))
    }

    @Test("a square grid keeps its first axis down; one device is one square; a prime length wraps with a short last row")
    func smallMeshes() {
        let square = MeshDrawing(shape: [8, 8])
        #expect(square.placements == ["down", "across"] && square.width == 146 && square.height == 146)
        let one = MeshDrawing(shape: [1])
        #expect(one.origins.count == 1 && one.origins[0] == (1, 1) && one.width == 20 && one.height == 20 && one.placements == [nil])
        // 97 has no divisor filling half of the 50 squares that fit: rows of 50, then 47.
        let prime = MeshDrawing(shape: [97])
        #expect(prime.placements == ["across, wrapped every 50"] && prime.width == 302 && prime.height == 14)
        #expect(prime.origins[96] == (277, 7))
    }

    @Test("every square lies inside the drawing, no two overlap, and no drawing is wider than 362 px or taller than 250",
          arguments: [[1], [8], [97], [1024], [8, 8], [2, 64], [64, 2], [256, 4], [4, 256], [1, 8, 4], [2, 8, 4], [4, 4, 4, 4], [16, 8, 8]])
    func inside(shape: [Int]) {
        let drawing = MeshDrawing(shape: shape)
        #expect(drawing.origins.count == shape.reduce(1, *))
        #expect(drawing.width <= MeshDrawing.maximumWidth + 2 && drawing.height <= 250, "\(drawing.width) x \(drawing.height)")
        for origin in drawing.origins {
            #expect(origin.x >= 1 && origin.y >= 1 && origin.x + drawing.cell - 1 <= drawing.width - 1 && origin.y + drawing.cell - 1 <= drawing.height - 1)
        }
        let corners = Set(drawing.origins.map { "\($0.x) \($0.y)" })
        #expect(corners.count == drawing.origins.count)
    }
}
