/// Builds the forward graph of one training step of a bottleneck ResNet for image classification,
/// widened as in Wide-ResNet (Zagoruyko and Komodakis 2016): `images` (`[batch, 3, size, size]`) and
/// `labels` (`i32 [batch]`) in, the mean cross-entropy `loss` out.
///
/// The layout is torchvision's `ResNet` with `Bottleneck` blocks (stride on the 3 x 3 convolution, "v1.5"):
/// a 7 x 7 stem and max pool, four stages of blocks 1 x 1 -> 3 x 3 -> 1 x 1 whose inner width is
/// `64 * 2^stage * widthFactor` and output width `256 * 2^stage`, global average pooling and a linear
/// classifier. Convolutions have no biases (batch norm follows each). Layer hints: `stem`, `layer1.0` ...
/// (torchvision's block names), `head`.
public struct WideResNetBuilder: Sendable {
    public var name: String
    /// Bottleneck blocks in each of the four stages ([3, 4, 6, 3] is ResNet-50).
    public var blocksPerStage: [Int]
    /// How many times wider than ResNet the inner 3 x 3 convolutions are (2 for WRN-50-2).
    public var widthFactor: Int
    /// Height and width of the input images, in pixels.
    public var imageSize: Int
    public var classes: Int
    /// Images in one global batch.
    public var globalBatch: Int
    public var dtype: DType

    public init(name: String, blocksPerStage: [Int] = [3, 4, 6, 3], widthFactor: Int = 2, imageSize: Int = 224,
                classes: Int = 1000, globalBatch: Int = 256, dtype: DType = .bf16) {
        self.name = name
        self.blocksPerStage = blocksPerStage
        self.widthFactor = widthFactor
        self.imageSize = imageSize
        self.classes = classes
        self.globalBatch = globalBatch
        self.dtype = dtype
    }

    public func build() throws(InputError) -> Graph {
        guard blocksPerStage.count == 4, blocksPerStage.allSatisfy({ $0 > 0 }), widthFactor > 0 else {
            throw InputError(.invalidValue, at: .root, "a bottleneck ResNet has four stages of at least one block and a positive width factor, found blocks \(blocksPerStage) and width factor \(widthFactor)")
        }
        var graph = GraphBuilder(name: name)
        graph.currentLayer = "stem"
        let images = try graph.input("images", [globalBatch, 3, imageSize, imageSize], dtype)
        let labels = try graph.input("labels", [globalBatch], .i32)
        var x = try convolution("conv1", images, outputs: 64, kernel: 7, stride: 2, in: &graph)
        x = try graph.unary("relu", .relu, try batchNorm("bn1", x, in: &graph))
        x = try graph.add("maxpool", .pool2d(.max, window: [3, 3], stride: [2, 2], padding: [1, 1]), [x])
        for (stage, blocks) in blocksPerStage.enumerated() {
            for block in 0..<blocks {
                let name = "layer\(stage + 1).\(block)"
                graph.currentLayer = name
                x = try bottleneck(name, x, planes: 64 << stage, stride: block == 0 && stage > 0 ? 2 : 1, in: &graph)
            }
        }
        graph.currentLayer = "head"
        let pooled = try graph.add("avgpool", .reduce(.mean, axes: [2, 3], keepDimensions: false), [x])
        let features = graph.type(of: pooled).shape[1]
        let weight = try graph.parameter("fc.w", [classes, features], dtype)
        let bias = try graph.parameter("fc.b", [classes], dtype)
        let logits = try graph.binary("fc.bias", .add, try graph.einsum("fc", "nc,kc->nk", pooled, weight), bias)
        graph.output(try graph.add("loss", .crossEntropy, [logits, labels]))
        return try graph.build().inDeclarationOrder()
    }

    /// 1 x 1 reduce, 3 x 3 (strided), 1 x 1 expand to `4 * planes`, each followed by batch norm; the
    /// shortcut is projected when the shape changes.
    private func bottleneck(_ name: String, _ x: ValueID, planes: Int, stride: Int,
                            in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let width = planes * widthFactor
        let outputs = planes * 4
        var y = try convolution("\(name).conv1", x, outputs: width, kernel: 1, stride: 1, in: &graph)
        y = try graph.unary("\(name).relu1", .relu, try batchNorm("\(name).bn1", y, in: &graph))
        y = try convolution("\(name).conv2", y, outputs: width, kernel: 3, stride: stride, in: &graph)
        y = try graph.unary("\(name).relu2", .relu, try batchNorm("\(name).bn2", y, in: &graph))
        y = try convolution("\(name).conv3", y, outputs: outputs, kernel: 1, stride: 1, in: &graph)
        y = try batchNorm("\(name).bn3", y, in: &graph)
        var shortcut = x
        if stride != 1 || graph.type(of: x).shape[1] != outputs {
            shortcut = try convolution("\(name).downsample.conv", x, outputs: outputs, kernel: 1, stride: stride, in: &graph)
            shortcut = try batchNorm("\(name).downsample.bn", shortcut, in: &graph)
        }
        return try graph.unary("\(name).relu3", .relu, try graph.binary("\(name).residual", .add, y, shortcut))
    }

    /// A bias-free square convolution with "same" padding (`kernel / 2`).
    private func convolution(_ name: String, _ x: ValueID, outputs: Int, kernel: Int, stride: Int,
                             in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let inputs = graph.type(of: x).shape[1]
        let weight = try graph.parameter("\(name).w", [outputs, inputs, kernel, kernel], dtype)
        return try graph.add(name, .conv2d(stride: [stride, stride], padding: [kernel / 2, kernel / 2], groups: 1), [x, weight])
    }

    private func batchNorm(_ name: String, _ x: ValueID, in graph: inout GraphBuilder) throws(InputError) -> ValueID {
        let channels = graph.type(of: x).shape[1]
        let gamma = try graph.parameter("\(name).gamma", [channels], dtype)
        let beta = try graph.parameter("\(name).beta", [channels], dtype)
        return try graph.add(name, .batchNorm(axis: 1), [x, gamma, beta])
    }
}
