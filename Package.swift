// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "ShardPlan",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "ShardPlan", targets: ["ShardPlan"]),
        .library(name: "LinearProgramming", targets: ["LinearProgramming"]),
        .executable(name: "shardplan", targets: ["shardplan"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation --target ShardPlan` builds Sources/ShardPlan/ShardPlan.docc.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CGLPK",
            path: "Sources/CGLPK",
            providers: [.apt(["libglpk-dev"])]
        ),
        .target(
            name: "LinearProgramming",
            dependencies: ["CGLPK"]
        ),
        .target(
            name: "ShardPlan",
            dependencies: ["LinearProgramming"]
        ),
        .executableTarget(
            name: "shardplan",
            dependencies: [
                "ShardPlan",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "LinearProgrammingTests",
            dependencies: ["LinearProgramming"]
        ),
        .testTarget(
            name: "CommandLineTests",
            dependencies: [
                "shardplan", "ShardPlan",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "ShardPlanTests",
            dependencies: ["ShardPlan"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
