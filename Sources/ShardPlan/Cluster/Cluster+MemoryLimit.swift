import Foundation

extension Cluster {
    /// This cluster with each device's memory cut to `gigabytes` GB (10^9 bytes), so that a plan searched or priced on it
    /// must fit under the limit, leaving the rest of the device as headroom (allocator fragmentation, NCCL's buffers, a
    /// CUDA graph's pool) beside the `TrainingOptions.frameworkOverheadBytes` every plan counts (`plan --memory-limit`,
    /// `score --memory-limit`). The reports then name the limit as the devices' memory; record it on the plan as
    /// `TrainingPlan.memoryLimitBytes` to have its document say so. A limit that is not a positive, finite number, that
    /// is more than a device has, or that leaves nothing beside the framework's overhead is an `InputError` at
    /// `memoryLimit`.
    public func limitingDeviceMemory(toGB gigabytes: Double) throws(InputError) -> Cluster {
        let path = JSONPath([.key("memoryLimit")])
        guard gigabytes > 0 && gigabytes.isFinite else {
            throw InputError(.invalidValue, at: path, "a memory limit is a positive, finite number of GB, not \(gigabytes)")
        }
        let bytes = gigabytes * 1e9
        guard bytes <= device.memoryBytes else {
            throw InputError(.invalidValue, at: path, String(format: "%g GB is more than the %.3f GB each %@ of %@ has", gigabytes,
                                                             device.memoryBytes / 1e9, device.name, name))
        }
        guard bytes > TrainingOptions.frameworkOverheadBytes else {
            throw InputError(.invalidValue, at: path, String(format: "%g GB leaves nothing beside the %g GB every plan counts for the CUDA context, workspaces and fragmentation",
                                                             gigabytes, TrainingOptions.frameworkOverheadBytes / 1e9))
        }
        var limited = self
        limited.device.memoryBytes = bytes
        return limited
    }
}
