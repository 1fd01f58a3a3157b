extension Cluster {
    /// Refuses a cluster that a `shardplan.cluster/1` document could not describe, with the error the document's
    /// reader (`init(json:at:)`) gives for the cluster's own document (`json`), attributed to the cluster's `name`:
    /// `cluster "lab": intra_node.bandwidth_gb_per_s: expected a positive number, found 0`. A cluster built in Swift
    /// is thus held to exactly the rules a cluster file is: a node or more of a device or more, NVLink domains of
    /// whole nodes that divide the cluster, the links its domains need, a name, a 16-bit peak rate, and every
    /// figure positive and within `JSONReader.plausibleFigures` in the file's units (latencies may be 0).
    ///
    /// The planners (`PipelinePlanner.plan`, `SingleStagePlanner.search`), `TrainingPlan.megatron` and
    /// `PlanEvaluator.evaluate(checking:)` call it before they compute anything from the cluster.
    public func validate() throws(InputError) {
        do {
            _ = try Cluster(json: json)
        } catch {
            throw error.inDocument("cluster " + JSONWriter.compact(.string(name)))
        }
    }
}
