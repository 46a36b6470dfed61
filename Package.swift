// swift-tools-version:6.1
import PackageDescription

// Imports run one way: CLI → Rules → (Engine, Datasets/Training, OCI) → Cache → Core.
// Training (numeric core) and OCI never import each other; the engine imports neither.
let package = Package(
    name: "mlbuild",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "mlbuild", targets: ["mlbuild"]),
        .library(name: "MLBuildCLI", targets: ["MLBuildCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
    ],
    targets: [
        .target(
            name: "MLBuildCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "MLBuildCache", dependencies: ["MLBuildCore"], exclude: ["Remote"]),
        .target(name: "MLBuildEngine", dependencies: ["MLBuildCore", "MLBuildCache"]),
        .target(
            name: "MLBuildRules",
            dependencies: ["MLBuildCore", "MLBuildCache", "MLBuildEngine"]
        ),
        .target(
            name: "MLBuildCLI",
            dependencies: [
                "MLBuildCore", "MLBuildCache", "MLBuildEngine", "MLBuildRules",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(name: "mlbuild", dependencies: ["MLBuildCLI"]),
        .target(name: "MLBuildTestSupport", dependencies: ["MLBuildCore"], exclude: ["NginxServer.swift", "FaultProxy.swift"]),
        .testTarget(name: "MLBuildCoreTests", dependencies: ["MLBuildCore", "MLBuildTestSupport"]),
        .testTarget(name: "MLBuildCLITests", dependencies: ["MLBuildCLI", "MLBuildTestSupport"]),
    ]
)
