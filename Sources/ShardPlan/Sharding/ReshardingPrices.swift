/// Seconds of tensor layout changes on one logical mesh, remembered across the stage problems built on it.
///
/// A pipeline search builds many problems on the same mesh (one per kind of layer range), and a block's
/// tensors change layout in the same ways in each; pricing a change (`Resharding.collectives`, then the
/// mesh's collective model) costs far more than looking it up. Safe to share between threads.
public final class ReshardingPrices: @unchecked Sendable {
    /// One layout change of a tensor of `elementCount` elements (its full logical size) and element size.
    struct Change: Hashable {
        var elementCount: Double
        var bytesPerElement: Int
        var source: ShardingSpec
        var target: ShardingSpec
        /// The routing of the tokens the change carries to or from experts, as the dispatcher sends them
        /// (`StageCostModel.tokenDispatch(of:)`); nil for any other tensor.
        var dispatch: TokenDispatch?
    }

    /// A change's seconds, and the part of them its all-to-alls take (which tensor parallelism's overlap does not
    /// hide, `TrainingOptions.tensorParallelOverlapShare`).
    struct Price {
        var seconds: Double
        var allToAllSeconds: Double
    }

    /// The mesh every price is for (a change costs differently on another mesh).
    public let mesh: DeviceMesh
    private let prices = SharedTable<Change, Price>()

    public init(mesh: DeviceMesh) { self.mesh = mesh }

    /// The price remembered for `change`, if any.
    func price(of change: Change) -> Price? { prices[change] }

    func remember(_ change: Change, price answer: Price) { prices[change] = answer }
}
