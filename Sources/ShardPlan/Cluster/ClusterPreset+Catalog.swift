// The figures of the built-in clusters, in the units of the datasheets (GiB, TFLOP/s, GB/s, us, MHz). Each
// carries its source; Docs/clusters.md has the same table. "published-runs" is shared/data/published-runs.json.
extension ClusterPreset {
    /// Every built-in cluster, in the order `shardplan clusters` lists them.
    public static let all: [ClusterPreset] = [
        ClusterPreset(name: "p3.16xlarge",
                      summary: "AWS p3.16xlarge: 8x V100-SXM2-16GB, NVLink2 hybrid cube-mesh, one 25 Gb/s NIC per node (Alpa's testbed)",
                      node: node(v100(memoryGiB: 16), intraNode: nvlink2, interNode: awsEthernet25Gbps)),
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
        ClusterPreset(name: "dgx-h800",
                      summary: "NVIDIA DGX/HGX H800: 8x H800-SXM5-80GB, NVLink 400 GB/s bidirectional + NVSwitch, 8x 400 Gb/s InfiniBand (DeepSeek-V3's nodes)",
                      node: node(h800, intraNode: nvlinkH800, interNode: ndr400)),
        ClusterPreset(name: "p4d.24xlarge",
                      summary: "AWS p4d.24xlarge: 8x A100-SXM4-40GB, NVLink3 + NVSwitch, 4x 100 Gb/s EFA per node",
                      node: node(a100(memoryGiB: 40, hbmGBPerSecond: 1555), intraNode: nvlink3, interNode: efaV1)),
        ClusterPreset(name: "p4de.24xlarge",
                      summary: "AWS p4de.24xlarge: 8x A100-SXM4-80GB, NVLink3 + NVSwitch, 4x 100 Gb/s EFA per node",
                      node: node(a100(memoryGiB: 80, hbmGBPerSecond: 2039), intraNode: nvlink3, interNode: efaV1)),
        ClusterPreset(name: "p5.48xlarge",
                      summary: "AWS p5.48xlarge: 8x H100-SXM5-80GB, NVLink4 + NVSwitch, 32x 100 Gb/s EFA v2 per node",
                      node: node(h100, intraNode: nvlink4, interNode: efaV2)),
        ClusterPreset(name: "a3-highgpu-8g",
                      summary: "GCP A3 High: 8x H100-SXM5-80GB, NVLink4 + NVSwitch, 4x 200 Gb/s GPUDirect-TCPX NICs per node",
                      node: node(h100, intraNode: nvlink4, interNode: gpuDirectTCPX)),
        ClusterPreset(name: "a3-megagpu-8g",
                      summary: "GCP A3 Mega: 8x H100-SXM5-80GB, NVLink4 + NVSwitch, 8x 200 Gb/s GPUDirect-TCPXO NICs per node",
                      node: node(h100, intraNode: nvlink4, interNode: gpuDirectTCPXO)),
        ClusterPreset(name: "a3-ultragpu-8g",
                      summary: "GCP A3 Ultra: 8x H200-SXM-141GB, NVLink4 + NVSwitch, 8x 400 Gb/s ConnectX-7 NICs (GPUDirect RDMA over RoCE) per node",
                      node: node(h200, intraNode: nvlink4, interNode: gpuDirectRoCE)),
        ClusterPreset(name: "h100-nvl",
                      summary: "a pair of H100 NVL 94GB PCIe cards joined by NVLink bridges; pairs of a server talk over PCIe Gen5",
                      node: node(h100NVL, devices: 2, intraNode: nvlinkBridgeH100NVL, interNode: pcieGen5)),
        ClusterPreset(name: "gh200-quad",
                      summary: "a quad GH200 node (HPE Cray EX254n, as in CSCS Alps and JUPITER): 4x GH200 96GB, all-to-all NVLink4, 4x 200 Gb/s NICs",
                      node: node(gh200, devices: 4, intraNode: nvlinkQuadGH200, interNode: network200)),
        ClusterPreset(name: "dgx-b200",
                      summary: "NVIDIA DGX B200: 8x B200-180GB, NVLink5 + NVSwitch, 8x ConnectX-7 400 Gb/s",
                      node: node(b200, intraNode: nvlink5, interNode: ndr400)),
        ClusterPreset(name: "gb200-nvl72",
                      summary: "NVIDIA GB200 NVL72 rack: 72x B200 (GB200, 186GB) in 18 trays of 4, one NVLink5 domain of 72, a 400 Gb/s NIC per GPU",
                      node: node(gb200, devices: 4, trays: 18, intraNode: nvlink5, interNode: ndr400)),
        ClusterPreset(name: "mi300x",
                      summary: "AMD Instinct MI300X platform: 8x MI300X-192GB, fully connected Infinity Fabric (xGMI), 8x 400 Gb/s NICs",
                      node: node(mi300x, intraNode: infinityFabricMI300X, interNode: ndr400)),
        ClusterPreset(name: "dgx-1-v100",
                      summary: "NVIDIA DGX-1 with V100 32GB: 8x V100-SXM2-32GB, NVLink2 hybrid cube-mesh, 4x EDR 100 Gb/s InfiniBand",
                      node: node(v100(memoryGiB: 32), intraNode: nvlink2, interNode: edr100(nics: 4, gpus: 8))),
        ClusterPreset(name: "dgx-2",
                      summary: "NVIDIA DGX-2: 16x V100-SXM3-32GB, NVLink2 + NVSwitch (all-to-all), 8x EDR 100 Gb/s InfiniBand",
                      node: node(v100SXM3, devices: 16, intraNode: nvlink2, interNode: edr100(nics: 8, gpus: 16))),
        ClusterPreset(name: "single-a100-80g", summary: "one A100-SXM4-80GB",
                      node: node(a100(memoryGiB: 80, hbmGBPerSecond: 2039), devices: 1, intraNode: nil, interNode: nil)),
        ClusterPreset(name: "single-h100", summary: "one H100-SXM5-80GB",
                      node: node(h100, devices: 1, intraNode: nil, interNode: nil)),
        ClusterPreset(name: "single-h200", summary: "one H200-SXM-141GB",
                      node: node(h200, devices: 1, intraNode: nil, interNode: nil)),
    ]

    // MARK: Devices

    /// V100 datasheet (SXM2): 125 TFLOP/s fp16 tensor, 15.7 f32, 16 GB HBM2 at 900 GB/s (published-runs
    /// hardware_gpus). V100 whitepaper: 80 SMs at 1530 MHz boost (80 x 8 tensor cores x 128 FLOP x 1.53 GHz =
    /// 125.3 TFLOP/s). No bf16 or tf32: those run at the f16 and f32 rates (`DeviceSpec.arithmeticType(for:)`).
    /// The 32 GB SXM2 part (DGX-1 with V100) has the same compute and bandwidth (V100 datasheet).
    private static func v100(memoryGiB: Double) -> DeviceSpec {
        device(name: "V100-SXM2-\(Int(memoryGiB))GB", memoryGiB: memoryGiB, peakTFLOPs: [.f16: 125, .f32: 15.7],
               hbmGBPerSecond: 900, multiprocessors: 80, boostClockMHz: 1530)
    }

    /// DGX-2's V100 SXM3 32GB: 125 TFLOP/s f16 tensor, 15.7 f32, 900 GB/s (DGX-2 datasheet: 2 PFLOPS for 16
    /// GPUs, 512 GB HBM2; V100 datasheet for the per-GPU rates; the 450 W DGX-2H part clocks higher).
    private static let v100SXM3 = device(name: "V100-SXM3-32GB", memoryGiB: 32, peakTFLOPs: [.f16: 125, .f32: 15.7],
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

    /// H800 SXM5 (NVIDIA's export variant of the H100 SXM5): the H100's compute and memory, 80 GB HBM3 at 3.35 TB/s
    /// (published-runs hardware_gpus "H800-SXM5-80GB"); only NVLink is narrower. Best matmul as the H100 (same die
    /// and clocks; no separate MAMF figure).
    private static let h800 = device(name: "H800-SXM5-80GB", memoryGiB: 80,
                                     peakTFLOPs: [.bf16: 989.4, .f16: 989.4, .tf32: 494.7, .f32: 67, .fp8: 1978.9],
                                     hbmGBPerSecond: 3350, multiprocessors: 132, boostClockMHz: 1830,
                                     bestMatmulTFLOPs: [.bf16: 794.5, .fp8: 1402.6])

    /// H100 NVL (the PCIe card sold in NVLink-bridged pairs), H100 datasheet, "H100 NVL" column: 94 GB HBM3 at
    /// 3.9 TB/s; 3,341 TFLOP/s fp8, 1,671 bf16/f16, 835 tf32 with sparsity (half of each dense), 60 f32. 132 SMs
    /// (the full GH100 configuration of the SXM part, at a lower clock). No MAMF figure: the default efficiency.
    private static let h100NVL = device(name: "H100-NVL-94GB", memoryGiB: 94,
                                        peakTFLOPs: [.bf16: 835.5, .f16: 835.5, .tf32: 417.5, .f32: 60, .fp8: 1670.5],
                                        hbmGBPerSecond: 3900, multiprocessors: 132, boostClockMHz: nil)

    /// GH200 Grace Hopper superchip, 96 GB HBM3 version (GH200 datasheet: 96 GB at 4 TB/s; the 144 GB HBM3e version
    /// has 4.9 TB/s): the H100 SXM5's tensor cores (989.4 bf16, 1978.9 fp8 dense, 494.7 tf32, 67 f32). Best matmul
    /// bf16 828.6 TFLOP/s at 900 W (83.8%; ml-engineering MAMF, published-runs matmul_efficiency "GH200 (900W)").
    private static let gh200 = device(name: "GH200-96GB", memoryGiB: 96,
                                      peakTFLOPs: [.bf16: 989.4, .f16: 989.4, .tf32: 494.7, .f32: 67, .fp8: 1978.9],
                                      hbmGBPerSecond: 4000, multiprocessors: 132, boostClockMHz: 1830,
                                      bestMatmulTFLOPs: [.bf16: 828.6])

    /// B200 in a DGX/HGX B200 at 1,000 W (NVIDIA Blackwell architecture technical brief, HGX B200 table, dense:
    /// 2,250 TFLOP/s bf16/f16, 4,500 fp8, 9,000 fp4, 1,100 tf32, 80 f32; transcribed in ml-engineering's
    /// accelerator table and G. Lockwood's B200 notes). DGX B200 datasheet: 1,440 GB of HBM3e for 8 GPUs (180 GB
    /// each) at 64 TB/s (8 TB/s each). 148 SMs (74 per die; Chips and Cheese, "Nvidia's B200"). FP4 is not an
    /// element type ShardPlan trains in, so its rate is only in Docs/clusters.md. No MAMF figure: default efficiency.
    private static let b200 = device(name: "B200-180GB", memoryGiB: 180,
                                     peakTFLOPs: [.bf16: 2250, .f16: 2250, .tf32: 1100, .f32: 80, .fp8: 4500],
                                     hbmGBPerSecond: 8000, multiprocessors: 148, boostClockMHz: nil)

    /// The B200 of a GB200 superchip at 1,200 W (same technical brief, GB200 table, dense: 2,500 bf16/f16, 5,000
    /// fp8, 10,000 fp4, 1,250 tf32, 90 f32). GB200 NVL72 datasheet: up to 13.4 TB HBM3e at 576 TB/s for 72 GPUs
    /// (186 GB, 8 TB/s each).
    private static let gb200 = device(name: "B200-GB200-186GB", memoryGiB: 186,
                                      peakTFLOPs: [.bf16: 2500, .f16: 2500, .tf32: 1250, .f32: 90, .fp8: 5000],
                                      hbmGBPerSecond: 8000, multiprocessors: 148, boostClockMHz: nil)

    /// AMD Instinct MI300X datasheet: 192 GB HBM3 at 5.3 TB/s; dense 1,307.4 TFLOP/s bf16/f16, 2,614.9 fp8, 653.7
    /// tf32, 163.4 f32 matrix; 304 compute units at 2,100 MHz (304 x 2,048 FLOP x 2.1 GHz = 1,307.4). The compute
    /// units stand for SMs in the tile and wave model. No MAMF figure read for it: the default efficiency.
    private static let mi300x = device(name: "MI300X-192GB", memoryGiB: 192,
                                       peakTFLOPs: [.bf16: 1307.4, .f16: 1307.4, .tf32: 653.7, .f32: 163.4, .fp8: 2614.9],
                                       hbmGBPerSecond: 5300, multiprocessors: 304, boostClockMHz: 2100)

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
    /// ml-engineering; published-runs hardware_gpus and collective_bandwidth). The third-generation NVSwitch
    /// reduces in the switch (NVLink SHARP): the 480 is NVLS's, and a ring all-reduce runs at the ring's 370.
    private static let nvlink4 = link(gbPerSecond: 450, latencyMicroseconds: nvlinkStepMicroseconds,
                                      allReduceGBPerSecond: 480, allGatherGBPerSecond: 370, pointToPointGBPerSecond: 396,
                                      reducesInSwitch: true)

    /// 8x ConnectX-7 NDR 400 Gb/s per DGX H100 (and DGX H200), one per GPU: 50 GB/s per GPU per direction
    /// (ml-engineering network README; published-runs hardware_nodes). Over NDR InfiniBand, the DGX's network,
    /// NCCL's ring reaches 46-48 GB/s of bus bandwidth per NIC (NCCL maintainer, NVIDIA/nccl-tests issue #290; the
    /// same rule as HDR's 24 per 200 Gb/s NIC): 47 GB/s per GPU, efficiency 0.94. Over 400G RoCE a user measured
    /// less (~325 GB/s for 8 GPUs per node, NVIDIA/nccl issue #1221): a cluster file can say so.
    private static let ndr400 = link(gbPerSecond: 50, latencyMicroseconds: networkStepMicroseconds,
                                     collectiveEfficiency: 0.94, allReduceGBPerSecond: 47)

    /// AWS EFA (first generation) on p4d and p4de: 4 x 100 Gb/s per node (AWS's P4d page, "400 Gbps instance
    /// networking"; the PyTorch/AWS FSDP blog, four EFA devices a p4d; ml-engineering's network table "EFA v1
    /// 4x100"), 400 / 8 = 50 Gb/s = 6.25 GB/s per GPU, one NIC shared by two GPUs. ml-engineering's network notes
    /// give about 340 Gb/s of the 400 reached in all-reduce tests: efficiency 0.85. A p4de's two-node all-reduce
    /// (78 GB/s bus bandwidth, aws-samples/awsome-distributed-training nccl-tests README) is above the line rate
    /// because NCCL's tree halves the traffic between two nodes (NVIDIA/nccl issue #209), so it is not used.
    private static let efaV1 = link(gbPerSecond: 400.0 / 8 / 8, latencyMicroseconds: networkStepMicroseconds,
                                    collectiveEfficiency: 0.85)

    /// AWS EFA v2 on p5.48xlarge: 32 x 100 Gb/s per node (AWS EC2 user guide, EFA-capable instance types: 32 EFA
    /// devices on a p5; ml-engineering "EFA v2 32x100"), 400 Gb/s = 50 GB/s per GPU, the line rate of a DGX H100's
    /// NDR. No published measurement separates its ring rate from the two-node tree's (487 GB/s of bus bandwidth,
    /// awsome-distributed-training README): the default efficiency.
    private static let efaV2 = link(gbPerSecond: 50, latencyMicroseconds: networkStepMicroseconds)

    /// GCP A3 High's GPUDirect-TCPX: 4 x 200 Gb/s NICs for the GPUs (GCP documentation, "GPU network bandwidth":
    /// 1,000 Gb/s with the host NIC's 200; ml-engineering "GPUDirect-TCPX 4x200"), 800 / 8 = 100 Gb/s = 12.5 GB/s
    /// per GPU. dstack's two-node all-gather reached 50 GB/s of bus bandwidth (half the node's 100 GB/s) on a setup
    /// it calls untuned (dstack `examples/clusters/a3high`), a lower bound: the default efficiency.
    private static let gpuDirectTCPX = link(gbPerSecond: 800.0 / 8 / 8, latencyMicroseconds: networkStepMicroseconds)

    /// GCP A3 Mega's GPUDirect-TCPXO: 8 x 200 Gb/s NICs for the GPUs (GCP "GPU network bandwidth": 1,800 Gb/s with
    /// the host NIC; dstack `examples/clusters/a3mega`: eight extra NICs), 200 Gb/s = 25 GB/s per GPU, half a DGX
    /// H100's. Two nodes' all-gather at 8 GiB: 188.5 GB/s of bus bandwidth for the node's 200 (dstack's README):
    /// efficiency 0.94, the same share as NDR InfiniBand's.
    private static let gpuDirectTCPXO = link(gbPerSecond: 25, latencyMicroseconds: networkStepMicroseconds,
                                             collectiveEfficiency: 0.94)

    /// GCP A3 Ultra's GPU network: 8 ConnectX-7 NICs of 400 Gb/s for the GPUs, RDMA over Converged Ethernet (GCP's
    /// accelerator-optimized machine page: 3,200 Gbps of GPU-to-GPU networking on a3-ultragpu-8g; the Cluster
    /// Toolkit's A3 Ultra blueprints: 8 RDMA network interfaces, GPUDirect RDMA), 50 GB/s per GPU as a DGX H200's. No
    /// published ring measurement on it; over another 400G RoCE fabric a user measured about 325 GB/s of bus
    /// bandwidth for 8 GPUs a node (NVIDIA/nccl issue #1221), 81% of the line rate: the default efficiency (0.8).
    private static let gpuDirectRoCE = link(gbPerSecond: 50, latencyMicroseconds: networkStepMicroseconds)

    /// H800's NVLink: 400 GB/s bidirectional, 200 per direction (published-runs hardware_gpus); DeepSeek-V3
    /// (arXiv:2412.19437, section 3.2.2) reaches about 160 GB/s (0.8). Measured all-reduce bus bandwidth on one
    /// 8x H800 node ~215 GB/s (a user report, NVIDIA/nccl issue #1374; published-runs collective_bandwidth): above
    /// the line rate, NVLink SHARP reduces in the switch as on the H100 (NVLS's figure; the ring's is 0.8 x 200).
    private static let nvlinkH800 = link(gbPerSecond: 200, latencyMicroseconds: nvlinkStepMicroseconds,
                                         allReduceGBPerSecond: 215, reducesInSwitch: true)

    /// H100 NVL bridges: 600 GB/s bidirectional between the two cards of a pair (H100 datasheet), 300 per direction.
    /// Nothing measured: the default efficiency.
    private static let nvlinkBridgeH100NVL = link(gbPerSecond: 300, latencyMicroseconds: nvlinkStepMicroseconds)

    /// PCIe Gen5 x16: 128 GB/s bidirectional (H100 datasheet), 64 per direction, between the pairs of one server
    /// through the PCIe switches. Servers joined by a network need its figures instead (edit the cluster file).
    /// One step is priced as a network step (a host-mediated path).
    private static let pcieGen5 = link(gbPerSecond: 64, latencyMicroseconds: networkStepMicroseconds)

    /// A quad GH200 node: each GH200 has 18 NVLink4 links (450 GB/s per direction), six to each of its three peers
    /// (HPE Cray EX254n; CSCS Alps documentation). NCCL's rings on a fully connected quad use every link.
    /// Nothing measured: the default efficiency.
    private static let nvlinkQuadGH200 = link(gbPerSecond: 450, latencyMicroseconds: nvlinkStepMicroseconds)

    /// One 200 Gb/s NIC per GH200 (four Slingshot-11 NICs per Alps node, four NDR200 InfiniBand per JUPITER node):
    /// 25 GB/s per GPU per direction. Nothing measured: the default efficiency.
    private static let network200 = link(gbPerSecond: 25, latencyMicroseconds: networkStepMicroseconds)

    /// NVLink5 with NVLink switches (DGX B200, GB200 NVL72): 1.8 TB/s bidirectional per GPU, 900 per direction
    /// (DGX B200 and GB200 NVL72 datasheets; 72 x 1.8 = 130 TB/s for the rack). Nothing measured: the default
    /// efficiency. The fourth-generation NVLink switch reduces as the third does (NVLink SHARP), so NCCL runs NVLS
    /// inside the domain; with no NVLS figure measured, its all-reduce figure is the ring's (Docs/clusters.md).
    private static let nvlink5 = link(gbPerSecond: 900, latencyMicroseconds: nvlinkStepMicroseconds, reducesInSwitch: true)

    /// MI300X Infinity Fabric (xGMI): seven links per GPU, one to each peer, 64 GB/s per direction each (448 in
    /// all); about 48 GB/s of each is usable after CRC and protocol overhead (AMD ROCm blog, "Understanding RCCL
    /// Bandwidth and xGMI Performance on AMD Instinct MI300X", 2025): efficiency 0.75.
    private static let infinityFabricMI300X = link(gbPerSecond: 448, latencyMicroseconds: nvlinkStepMicroseconds,
                                                   collectiveEfficiency: 0.75)

    /// EDR InfiniBand, 100 Gb/s = 12.5 GB/s a NIC, shared by the node's GPUs: DGX-1 has 4 for 8 GPUs, DGX-2 8 for
    /// 16 (DGX-1 and DGX-2 datasheets): 6.25 GB/s per GPU. Nothing measured: the default efficiency.
    private static func edr100(nics: Int, gpus: Int) -> LinkSpec {
        link(gbPerSecond: 12.5 * Double(nics) / Double(gpus), latencyMicroseconds: networkStepMicroseconds)
    }

    // MARK: Building in datasheet units

    /// One node of `devices`, or an NVLink domain of `trays` nodes of `devices` each.
    private static func node(_ device: DeviceSpec, devices: Int = 8, trays: Int = 1, intraNode: LinkSpec?,
                             interNode: LinkSpec?) -> Cluster {
        Cluster(name: "", nodes: trays, devicesPerNode: devices, devicesPerDomain: trays * devices, device: device,
                intraNode: intraNode, interNode: interNode)
    }

    private static func device(name: String, memoryGiB: Double, peakTFLOPs: [DType: Double], hbmGBPerSecond: Double,
                               multiprocessors: Int, boostClockMHz: Double?,
                               bestMatmulTFLOPs: [DType: Double] = [:]) -> DeviceSpec {
        DeviceSpec(name: name, memoryBytes: memoryGiB * DeviceSpec.bytesPerGiB,
                   peakFLOPsPerSecond: peakTFLOPs.mapValues { $0 * DeviceSpec.flopsPerTFLOP },
                   memoryBandwidth: hbmGBPerSecond * DeviceSpec.bytesPerGB, multiprocessors: multiprocessors,
                   boostClockHertz: boostClockMHz.map { $0 * DeviceSpec.hertzPerMHz },
                   bestMatmulFLOPsPerSecond: bestMatmulTFLOPs.mapValues { $0 * DeviceSpec.flopsPerTFLOP })
    }

    private static func link(gbPerSecond: Double, latencyMicroseconds: Double, collectiveEfficiency: Double? = nil,
                             allReduceGBPerSecond: Double? = nil, allGatherGBPerSecond: Double? = nil,
                             pointToPointGBPerSecond: Double? = nil, reducesInSwitch: Bool = false) -> LinkSpec {
        LinkSpec(bandwidth: gbPerSecond * LinkSpec.bytesPerGB,
                 latency: latencyMicroseconds * LinkSpec.secondsPerMicrosecond,
                 collectiveEfficiency: collectiveEfficiency,
                 allReduceBusBandwidth: allReduceGBPerSecond.map { $0 * LinkSpec.bytesPerGB },
                 allGatherBusBandwidth: allGatherGBPerSecond.map { $0 * LinkSpec.bytesPerGB },
                 pointToPointBandwidth: pointToPointGBPerSecond.map { $0 * LinkSpec.bytesPerGB },
                 reducesInSwitch: reducesInSwitch)
    }
}
