// The figures of the built-in clusters, in the units of the datasheets (GiB, TFLOP/s, GB/s, us, MHz). Each
// carries its source; Docs/clusters.md has the same table. "published-runs" is shared/data/published-runs.json.
extension ClusterPreset {
    /// Every built-in cluster, in the order `shardplan clusters` lists them.
    public static let all: [ClusterPreset] = [
        ClusterPreset(name: "p3.16xlarge",
                      summary: "AWS p3.16xlarge: 8x V100-SXM2-16GB, NVLink2 hybrid cube-mesh, one 25 Gb/s NIC per node (Alpa's testbed)",
                      node: node(v100, intraNode: nvlink2, interNode: awsEthernet25Gbps)),
        ClusterPreset(name: "dgx-a100-40g",
                      summary: "NVIDIA DGX A100 320GB: 8x A100-SXM4-40GB, NVLink3 + NVSwitch, 8x HDR 200 Gb/s InfiniBand",
                      node: node(a100(memoryGiB: 40, hbmGBPerSecond: 1555), intraNode: nvlink3, interNode: hdr200)),
        ClusterPreset(name: "dgx-a100-80g",
                      summary: "NVIDIA DGX A100 640GB (a Selene node): 8x A100-SXM4-80GB, NVLink3 + NVSwitch, 8x HDR 200 Gb/s InfiniBand",
                      node: node(a100(memoryGiB: 80, hbmGBPerSecond: 2039), intraNode: nvlink3, interNode: hdr200)),
        ClusterPreset(name: "dgx-h100",
                      summary: "NVIDIA DGX H100: 8x H100-SXM5-80GB, NVLink4 + NVSwitch (NVLink SHARP), 8x NDR 400 Gb/s",
                      node: node(h100, intraNode: nvlink4, interNode: ndr400)),
        ClusterPreset(name: "dgx-h200",
                      summary: "NVIDIA DGX H200: 8x H200-SXM-141GB, NVLink4 + NVSwitch (NVLink SHARP), 8x NDR 400 Gb/s",
                      node: node(h200, intraNode: nvlink4, interNode: ndr400)),
        ClusterPreset(name: "single-a100-80g", summary: "one A100-SXM4-80GB",
                      node: node(a100(memoryGiB: 80, hbmGBPerSecond: 2039), devices: 1, intraNode: nil, interNode: nil)),
        ClusterPreset(name: "single-h100", summary: "one H100-SXM5-80GB",
                      node: node(h100, devices: 1, intraNode: nil, interNode: nil)),
    ]

    // MARK: Devices

    /// V100 datasheet (SXM2): 125 TFLOP/s fp16 tensor, 15.7 f32, 16 GB HBM2 at 900 GB/s (published-runs
    /// hardware_gpus). V100 whitepaper: 80 SMs at 1530 MHz boost (80 x 8 tensor cores x 128 FLOP x 1.53 GHz =
    /// 125.3 TFLOP/s). No bf16 or tf32: those run at the f16 and f32 rates (`DeviceSpec.arithmeticType(for:)`).
    private static let v100 = device(name: "V100-SXM2-16GB", memoryGiB: 16, peakTFLOPs: [.f16: 125, .f32: 15.7],
                                     hbmGBPerSecond: 900, multiprocessors: 80, boostClockMHz: 1530)

    /// A100 datasheet: 312 TFLOP/s bf16/f16 dense, 156 tf32, 19.5 f32; 1555 GB/s (40GB) or 2039 GB/s (80GB)
    /// (published-runs hardware_gpus). A100 whitepaper: 108 SMs at 1410 MHz (108 x 2048 FLOP x 1.41 GHz =
    /// 311.9 TFLOP/s). Best matmul 271.2 TFLOP/s bf16 (86.9%): ml-engineering's MAMF table (published-runs
    /// matmul_efficiency, "A100 SXM"); matmul speed is compute-bound, so it holds for both memory sizes.
    private static func a100(memoryGiB: Double, hbmGBPerSecond: Double) -> DeviceSpec {
        device(name: "A100-SXM4-\(Int(memoryGiB))GB", memoryGiB: memoryGiB,
               peakTFLOPs: [.bf16: 312, .f16: 312, .tf32: 156, .f32: 19.5], hbmGBPerSecond: hbmGBPerSecond,
               multiprocessors: 108, boostClockMHz: 1410, bestMatmulTFLOPs: [.bf16: 271.2])
    }

    /// H100 SXM5 datasheet: 989.4 TFLOP/s bf16/f16 dense, 1978.9 fp8 dense (published-runs hardware_gpus;
    /// the datasheet's 1979/3958 are with sparsity), 494.7 tf32 dense, 67 f32; 80 GB HBM3 at 3.35 TB/s.
    /// 132 SMs; the tensor peaks are quoted at 1830 MHz (132 x 4096 FLOP x 1.83 GHz = 989.4 TFLOP/s), below the
    /// 1980 MHz maximum boost. Best matmul 794.5 bf16 (80.3%) and 1402.6 fp8 (70.9%): ml-engineering MAMF
    /// (published-runs matmul_efficiency). nvidia-smi reports 81559 MiB (79.6 GiB) of the 80 GiB.
    private static let h100 = device(name: "H100-SXM5-80GB", memoryGiB: 80,
                                     peakTFLOPs: [.bf16: 989.4, .f16: 989.4, .tf32: 494.7, .f32: 67, .fp8: 1978.9],
                                     hbmGBPerSecond: 3350, multiprocessors: 132, boostClockMHz: 1830,
                                     bestMatmulTFLOPs: [.bf16: 794.5, .fp8: 1402.6])

    /// H200: the H100's compute with 141 GB HBM3e at 4.8 TB/s (published-runs hardware_gpus). Best matmul:
    /// bf16 as the H100 (MAMF table: "H100 SXM (H200 same)"), fp8 1453.4 (73.4%). nvidia-smi reports
    /// 143771 MiB (140.4 GiB); the datasheet's 141 is kept, as for the other devices.
    private static let h200 = device(name: "H200-SXM-141GB", memoryGiB: 141,
                                     peakTFLOPs: [.bf16: 989.4, .f16: 989.4, .tf32: 494.7, .f32: 67, .fp8: 1978.9],
                                     hbmGBPerSecond: 4800, multiprocessors: 132, boostClockMHz: 1830,
                                     bestMatmulTFLOPs: [.bf16: 794.5, .fp8: 1453.4])

    // MARK: Links

    /// One step of an NCCL ring (Simple protocol) over NVLink: 3.4 us; over the network: 14 us. NCCL's own
    /// latency model, `hwLat` in NVIDIA/nccl src/graph/tuning.cc (older releases used 9.6 us for the network).
    private static let nvlinkStepMicroseconds = 3.4
    private static let networkStepMicroseconds = 14.0

    /// NVLink2: 6 links x 25 GB/s = 150 GB/s per direction per V100 (published-runs hardware_gpus). The
    /// p3.16xlarge's hybrid cube-mesh is not all-to-all: NCCL rings use the whole 150, a send between two GPUs
    /// without a direct link is slower. No measured figure: the default 80% efficiency applies.
    private static let nvlink2 = link(gbPerSecond: 150, latencyMicroseconds: nvlinkStepMicroseconds)

    /// 25 Gb/s per p3.16xlarge node (Alpa OSDI'22 section 8; published-runs hardware_nodes) = 3.125 GB/s, shared by
    /// 8 GPUs: 0.390625 GB/s per GPU, the share of each when all communicate at once. A group holding all 8
    /// GPUs of its node gets the whole 3.125 (`Cluster.collectiveGroup(devices:)`). TCP through one NIC is
    /// probably slower per step than NCCL's InfiniBand figure used here; only small messages notice.
    private static let awsEthernet25Gbps = link(gbPerSecond: 25.0 / 8 / 8, latencyMicroseconds: networkStepMicroseconds)

    /// NVLink3 with NVSwitch: 300 GB/s per direction per A100 (published-runs hardware_gpus). Measured all-reduce
    /// bus bandwidth on one DGX A100: 232.5 GB/s (NVIDIA/nccl-tests issue #175: 232.54; ml-engineering: 235;
    /// NCCL's tuning model caps sm80 at 235). The other ring collectives use the same ring: efficiency 232.5/300.
    private static let nvlink3 = link(gbPerSecond: 300, latencyMicroseconds: nvlinkStepMicroseconds,
                                      collectiveEfficiency: 0.775, allReduceGBPerSecond: 232.5)

    /// 8x HDR 200 Gb/s InfiniBand per DGX A100, one per GPU: 25 GB/s per GPU per direction (Narayanan et al.
    /// SC21 section 5; published-runs hardware_nodes). Measured multi-node all-reduce bus bandwidth 192 GB/s for
    /// 8 GPUs per node (NCCL maintainer, NVIDIA/nccl issues #812/#1576): 24 GB/s per GPU, efficiency 0.96.
    private static let hdr200 = link(gbPerSecond: 25, latencyMicroseconds: networkStepMicroseconds,
                                     collectiveEfficiency: 0.96, allReduceGBPerSecond: 24)

    /// NVLink4 with NVSwitch: 450 GB/s per direction per H100/H200 (900 bidirectional; published-runs
    /// hardware_gpus). Measured: all-reduce with NVLink SHARP ~480 GB/s bus bandwidth for large messages, ring
    /// collectives ~370 (sjeaugey, NVIDIA/nccl-tests issue #212), pairwise copy 396 GB/s (nvbandwidth on H200,
    /// ml-engineering; published-runs hardware_gpus and collective_bandwidth).
    private static let nvlink4 = link(gbPerSecond: 450, latencyMicroseconds: nvlinkStepMicroseconds,
                                      allReduceGBPerSecond: 480, allGatherGBPerSecond: 370, pointToPointGBPerSecond: 396)

    /// 8x ConnectX-7 NDR 400 Gb/s per DGX H100 (and DGX H200), one per GPU: 50 GB/s per GPU per direction
    /// (ml-engineering network README; published-runs hardware_nodes). Measured all-reduce bus bandwidth on 4 or
    /// more nodes ~320-330 GB/s for 8 GPUs per node (a user report over 400G RoCE, NVIDIA/nccl issue #1221, not
    /// an official figure): 325 / 8 = 40.625 GB/s per GPU, efficiency 0.8125. On 2 nodes NCCL's tree algorithms
    /// measure higher (~430); the ring figure is kept for every size.
    private static let ndr400 = link(gbPerSecond: 50, latencyMicroseconds: networkStepMicroseconds,
                                     collectiveEfficiency: 0.8125, allReduceGBPerSecond: 40.625)

    // MARK: Building in datasheet units

    private static func node(_ device: DeviceSpec, devices: Int = 8, intraNode: LinkSpec?, interNode: LinkSpec?) -> Cluster {
        Cluster(name: "", nodes: 1, devicesPerNode: devices, device: device, intraNode: intraNode, interNode: interNode)
    }

    private static func device(name: String, memoryGiB: Double, peakTFLOPs: [DType: Double], hbmGBPerSecond: Double,
                               multiprocessors: Int, boostClockMHz: Double,
                               bestMatmulTFLOPs: [DType: Double] = [:]) -> DeviceSpec {
        DeviceSpec(name: name, memoryBytes: memoryGiB * DeviceSpec.bytesPerGiB,
                   peakFLOPsPerSecond: peakTFLOPs.mapValues { $0 * DeviceSpec.flopsPerTFLOP },
                   memoryBandwidth: hbmGBPerSecond * DeviceSpec.bytesPerGB, multiprocessors: multiprocessors,
                   boostClockHertz: boostClockMHz * DeviceSpec.hertzPerMHz,
                   bestMatmulFLOPsPerSecond: bestMatmulTFLOPs.mapValues { $0 * DeviceSpec.flopsPerTFLOP })
    }

    private static func link(gbPerSecond: Double, latencyMicroseconds: Double, collectiveEfficiency: Double? = nil,
                             allReduceGBPerSecond: Double? = nil, allGatherGBPerSecond: Double? = nil,
                             pointToPointGBPerSecond: Double? = nil) -> LinkSpec {
        LinkSpec(bandwidth: gbPerSecond * LinkSpec.bytesPerGB,
                 latency: latencyMicroseconds * LinkSpec.secondsPerMicrosecond,
                 collectiveEfficiency: collectiveEfficiency,
                 allReduceBusBandwidth: allReduceGBPerSecond.map { $0 * LinkSpec.bytesPerGB },
                 allGatherBusBandwidth: allGatherGBPerSecond.map { $0 * LinkSpec.bytesPerGB },
                 pointToPointBandwidth: pointToPointGBPerSecond.map { $0 * LinkSpec.bytesPerGB })
    }
}
