import Testing
@testable import ShardPlan

@Suite("Wide-ResNet builder")
struct WideResNetBuilderTests {
    @Test("WRN-50-2: 53 convolutions down to [256, 2048, 7, 7], pooled, classified into 1000 classes")
    func structure() throws {
        let graph = try WideResNetBuilder(name: "wrn").build()
        #expect(graph.operations.filter { $0.op.kindName == "conv2d" }.count == 53)
        #expect(graph[try #require(graph.value(named: "layer4.2.relu3"))].type == TensorType([256, 2048, 7, 7], .bf16))
        #expect(graph[try #require(graph.value(named: "layer1.0.conv2.w"))].type == TensorType([128, 128, 3, 3], .bf16))
        #expect(graph[try #require(graph.value(named: "fc.bias"))].type == TensorType([256, 1000], .bf16))
        #expect(graph.batchSize == 256)
        #expect(graph.operations.allSatisfy { $0.layer != nil })
    }

    /// torchvision's weight tables: resnet50 25,557,032 and wide_resnet50_2 68,883,240 parameters.
    @Test("parameter counts match torchvision", arguments: [(1, 25_557_032), (2, 68_883_240)])
    func parameterCount(_ widthFactor: Int, _ count: Int) throws {
        let graph = try WideResNetBuilder(name: "wrn", widthFactor: widthFactor).build()
        #expect(ModelCatalog.parameterCount(of: graph) == count)
    }

    @Test("a stage without blocks is reported")
    func invalid() {
        #expect(throws: InputError.self) { try WideResNetBuilder(name: "wrn", blocksPerStage: [3, 0, 6, 3]).build() }
    }
}
