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
        .systemLibrary(
            name: "CArchive",
            pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]
        ),
        .target(
            name: "MLBuildCore",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(name: "MLBuildCache", dependencies: ["MLBuildCore"], exclude: ["Remote"]),
        .target(name: "MLBuildEngine", dependencies: ["MLBuildCore", "MLBuildCache"]),
        .target(name: "MLBuildTraining"),
        .target(name: "MLBuildDatasets", dependencies: ["MLBuildTraining"]),
        .target(
            name: "MLBuildOCI",
            dependencies: ["CArchive", .product(name: "Crypto", package: "swift-crypto")]
        ),
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
        .target(name: "MLBuildTestSupport", dependencies: ["MLBuildCore"]),
        .testTarget(name: "MLBuildCoreTests", dependencies: ["MLBuildCore", "MLBuildTestSupport"]),
        .testTarget(name: "MLBuildCacheTests", dependencies: ["MLBuildCache", "MLBuildTestSupport"]),
        .testTarget(name: "MLBuildEngineTests", dependencies: ["MLBuildEngine", "MLBuildRules", "MLBuildTestSupport"]),
        .testTarget(name: "MLBuildTrainingTests", dependencies: ["MLBuildTraining"]),
        .testTarget(name: "MLBuildDatasetsTests", dependencies: ["MLBuildDatasets", "MLBuildTraining"]),
        .testTarget(name: "MLBuildOCITests", dependencies: ["MLBuildOCI", "MLBuildTestSupport"]),
        .testTarget(name: "MLBuildCLITests", dependencies: ["MLBuildCLI", "MLBuildTestSupport"]),
    ]
)
