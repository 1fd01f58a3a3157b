/// Where a report draws each device of a rank's mesh, so that a mesh of any shape stays small and shows how
/// its axes group the devices. Axes of one device are left out. The last two axes make a grid, its longer axis
/// across (a 256 x 4 mesh is drawn 4 high, not 256), and an axis too long for `maximumGridWidth` is wrapped into
/// bands stacked down the page; the axes before those two repeat the grid as blocks set apart by a wider gap,
/// side by side and then in lines. The squares are as large as keeps the drawing within `maximumHeight`, 18 px
/// at most and 6 px at least. Lengths in pixels; squares are `cell` apart, each drawn `cell - 1` wide.
struct MeshDrawing {
    /// The widest a grid is drawn before its long axis wraps, the widest a line of blocks, and the tallest a
    /// drawing is drawn where squares of 6 px allow it.
    static let maximumGridWidth = 300.0, maximumWidth = 360.0, maximumHeight = 250.0
    /// The space between two bands of a wrapped grid and between two blocks, beside the squares' own gap.
    static let bandGap = 4.0, blockGap = 8.0

    /// The distance between neighbouring squares.
    let cell: Double
    /// The top-left corner of each device's square, in the mesh's row-major order (its `devices`' order), from a
    /// 1 px margin.
    let origins: [(x: Double, y: Double)]
    /// The drawing's size, margins included.
    let width: Double, height: Double
    /// How each axis is drawn, in words: "across", "down", "across, wrapped every 32", "a block each"; nil for
    /// an axis of one device.
    let placements: [String?]

    init(shape: [Int]) {
        let drawn = shape.indices.filter { shape[$0] > 1 }
        // The grid's rows and columns; the longer of the last two axes goes across.
        var rowAxis = drawn.count >= 2 ? drawn[drawn.count - 2] : nil
        var columnAxis = drawn.last
        if let rows = rowAxis, let columns = columnAxis, shape[rows] > shape[columns] { (rowAxis, columnAxis) = (columns, rows) }
        let outerAxes = Array(drawn.dropLast(2))
        let rows = rowAxis.map { shape[$0] } ?? 1, columns = columnAxis.map { shape[$0] } ?? 1
        let blocks = outerAxes.reduce(1) { $0 * shape[$1] }
        // The largest squares, up to 18 px and at most 150 px for the grid's longer side, that keep the drawing
        // within `maximumHeight`; 6 px where none does.
        let largest = max(6, min(18, (150 / Double(max(rows, columns))).rounded(.down)))
        let sizes = stride(from: largest, through: 6, by: -1).lazy.map { Layout(cell: $0, rows: rows, columns: columns, blocks: blocks) }
        let layout = sizes.first { $0.height <= Self.maximumHeight } ?? Layout(cell: 6, rows: rows, columns: columns, blocks: blocks)
        let (cell, band, bandGap) = (layout.cell, layout.band, layout.bandGap)
        var origins: [(x: Double, y: Double)] = []
        origins.reserveCapacity(shape.reduce(1, *))
        for index in 0 ..< shape.reduce(1, *) {
            // The device's coordinates, the last axis fastest.
            var coordinates = Array(repeating: 0, count: shape.count), rest = index
            for axis in shape.indices.reversed() {
                coordinates[axis] = rest % shape[axis]
                rest /= shape[axis]
            }
            let block = outerAxes.reduce(0) { $0 * shape[$1] + coordinates[$1] }
            let row = rowAxis.map { coordinates[$0] } ?? 0, column = columnAxis.map { coordinates[$0] } ?? 0
            let x = Double(block % layout.blocksPerLine) * (layout.gridWidth + Self.blockGap) + Double(column % band) * cell
            let y = Double(block / layout.blocksPerLine) * (layout.gridHeight + Self.blockGap) + Double(column / band) * (Double(rows) * cell + bandGap)
                + Double(row) * cell
            origins.append((1 + x, 1 + y))
        }
        self.cell = cell
        self.origins = origins
        width = layout.width
        height = layout.height
        placements = shape.indices.map { axis in
            if axis == columnAxis { return layout.bands > 1 ? "across, wrapped every \(band)" : "across" }
            if axis == rowAxis { return "down" }
            return outerAxes.contains(axis) ? "a block each" : nil
        }
    }

    /// The sizes of a drawing with squares `cell` apart: a grid of `rows` by `columns`, wrapped into bands, repeated
    /// as `blocks`.
    struct Layout {
        let cell: Double
        /// Columns to a band, bands, and the space between bands.
        let band: Int, bands: Int, bandGap: Double
        let gridWidth: Double, gridHeight: Double
        let blocksPerLine: Int
        /// The drawing's size, margins included.
        let width: Double, height: Double

        init(cell: Double, rows: Int, columns: Int, blocks: Int) {
            self.cell = cell
            // A long axis wraps at a divisor of its length where one fills at least half the width, so that its
            // bands are equal.
            let fit = max(Int(MeshDrawing.maximumGridWidth / cell), 1)
            band = columns <= fit ? columns : (1 ... fit).reversed().first { columns % $0 == 0 && 2 * $0 >= fit } ?? fit
            bands = (columns + band - 1) / band
            // One row wraps as text does; bands of several rows keep apart.
            bandGap = rows == 1 ? 0 : MeshDrawing.bandGap
            gridWidth = Double(band) * cell
            gridHeight = Double(bands) * (Double(rows) * cell + bandGap) - bandGap
            blocksPerLine = min(max(Int((MeshDrawing.maximumWidth + MeshDrawing.blockGap) / (gridWidth + MeshDrawing.blockGap)), 1), blocks)
            let lines = (blocks + blocksPerLine - 1) / blocksPerLine
            width = Double(blocksPerLine) * (gridWidth + MeshDrawing.blockGap) - MeshDrawing.blockGap + 2
            height = Double(lines) * (gridHeight + MeshDrawing.blockGap) - MeshDrawing.blockGap + 2
        }
    }
}
