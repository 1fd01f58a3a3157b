extension TransformerConfiguration {
    /// Mixture-of-experts MLPs: a router scores each token's experts, each token goes to its top k of them,
    /// every expert runs its own MLP on the tokens it received, and the results come back weighted by the
    /// router's scores. Two ways tokens reach the experts:
    /// - GShard's (Lepikhin et al. 2020, arXiv:2006.16668): one-hot dispatch and combine einsums into
    ///   `capacity` slots per expert and sequence (`Dispatch.einsum`);
    /// - token permutation, as Megatron-Core's all-to-all dispatcher, DeepSeek-V3 and Qwen3-MoE train: each
    ///   token is copied to its k experts' buffers and the outputs summed back, dropless (every expert takes
    ///   its share, `sequenceLength x topK / experts` tokens per sequence) or with a capacity factor
    ///   (`Dispatch.permutation`).
    public struct MixtureOfExperts: Sendable, Equatable {
        /// How tokens reach the experts.
        public enum Dispatch: Sendable, Equatable {
            /// GShard's dispatch and combine einsums with a one-hot mask of `capacity` slots.
            case einsum
            /// Megatron-Core's permutation of token copies, dropless when `capacityFactor` is nil.
            case permutation(capacityFactor: Double?)
        }

        /// How the router turns logits into scores: a softmax over experts (Mixtral, Qwen3-MoE, GShard) or a
        /// sigmoid per expert (DeepSeek-V3, section 2.1.2).
        public enum Scoring: Sendable, Equatable { case softmax, sigmoid }

        /// Routed experts per MoE layer.
        public var experts: Int
        /// Experts each token is routed to.
        public var topK: Int
        /// Slots per expert per sequence for `Dispatch.einsum` (GShard's expert capacity for a group of one
        /// sequence: about `topK * capacityFactor * sequenceLength / experts`).
        public var capacity: Int
        /// Every `layerInterval`-th layer has experts (GShard: every other layer, so 2); the rest are dense.
        public var layerInterval: Int
        /// Leading layers that stay dense whatever the interval (DeepSeek-V3: the first 3).
        public var firstDenseLayers: Int
        public var dispatch: Dispatch
        /// Each expert's MLP width; nil: the model's `feedForwardHidden` (fine-grained experts are narrower).
        public var expertFeedForwardHidden: Int?
        /// Experts every token goes through besides its routed ones, as one MLP `sharedExperts` times an
        /// expert's width (DeepSeek-V3: 1).
        public var sharedExperts: Int
        public var scoring: Scoring
        /// The weight of the router's load-balancing loss (Switch Transformer's `E x sum f_e P_e`), added to
        /// the training loss; nil for none.
        public var auxiliaryLossWeight: Double?
        /// Group-limited routing (DeepSeek-V3: 8 groups, the top k from the best 4), which the router's top-k slice
        /// carries; nil: any k of the experts.
        public var groups: ExpertGroups?

        public init(experts: Int, topK: Int = 2, capacity: Int = 0, layerInterval: Int = 2, firstDenseLayers: Int = 0,
                    dispatch: Dispatch = .einsum, expertFeedForwardHidden: Int? = nil, sharedExperts: Int = 0,
                    scoring: Scoring = .softmax, auxiliaryLossWeight: Double? = nil, groups: ExpertGroups? = nil) {
            self.groups = groups
            self.experts = experts
            self.topK = topK
            self.capacity = capacity
            self.layerInterval = layerInterval
            self.firstDenseLayers = firstDenseLayers
            self.dispatch = dispatch
            self.expertFeedForwardHidden = expertFeedForwardHidden
            self.sharedExperts = sharedExperts
            self.scoring = scoring
            self.auxiliaryLossWeight = auxiliaryLossWeight
        }

        /// Token slots per expert and sequence of a permutation dispatch: `sequenceLength x topK / experts`,
        /// times the capacity factor (rounded up) when there is one.
        public func slots(sequenceLength: Int) -> (dropless: Int, padded: Int) {
            let dropless = sequenceLength * topK / experts
            guard case .permutation(let factor?) = dispatch else { return (dropless, dropless) }
            return (dropless, Int((Double(sequenceLength * topK) * factor / Double(experts)).rounded(.up)))
        }
    }
}
