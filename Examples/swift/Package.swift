// swift-tools-version: 6.0
// ShardPlan used as a library from another package, as your project would: four small programs, one
// package, so that they share one build of the library.
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its folder, and this repository may be cloned under any name, so
// the product's package is read from the path. In your project, with ShardPlan checked out in a folder
// named ShardPlan: `.package(path: "../ShardPlan")` and `.product(name: "ShardPlan", package: "ShardPlan")`.
let shardPlanPath = "../.."
let shardPlanFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent(shardPlanPath).standardizedFileURL.lastPathComponent
let shardPlan = Target.Dependency.product(name: "ShardPlan", package: shardPlanFolder)

let package = Package(
    name: "ShardPlanExamples",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "plan-custom-graph", targets: ["PlanCustomGraph"]),
        .executable(name: "plan-catalog-model", targets: ["PlanCatalogModel"]),
        .executable(name: "score-megatron-layouts", targets: ["ScoreMegatronLayouts"]),
        .executable(name: "rescore-saved-plan", targets: ["RescoreSavedPlan"]),
    ],
    dependencies: [.package(path: shardPlanPath)],
    targets: [
        .executableTarget(name: "PlanCustomGraph", dependencies: [shardPlan]),
        .executableTarget(name: "PlanCatalogModel", dependencies: [shardPlan]),
        .executableTarget(name: "ScoreMegatronLayouts", dependencies: [shardPlan]),
        .executableTarget(name: "RescoreSavedPlan", dependencies: [shardPlan]),
    ]
)
