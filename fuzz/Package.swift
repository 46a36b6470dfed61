// swift-tools-version:6.1
import PackageDescription

// A separate package so that the fuzzer (built with `-sanitize=fuzzer`) never touches the main
// package or `swift test`. Sources/* are symlinks to the repository's modules; keep this list
// in step with the dependencies of MLBuildRules in ../Package.swift. Build and run with `./run`.
let package = Package(
    name: "mlbuild-fuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
    ],
    targets: [
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "MLBuildCore", dependencies: [.product(name: "Crypto", package: "swift-crypto")], exclude: ["README.md"]),
        .target(name: "CCurl"),
        .target(name: "MLBuildCache", dependencies: ["MLBuildCore", "CCurl", .product(name: "Crypto", package: "swift-crypto")], exclude: ["README.md"]),
        .target(name: "MLBuildEngine", dependencies: ["MLBuildCore", "MLBuildCache"], exclude: ["README.md"]),
        .target(name: "MLBuildTraining", exclude: ["README.md"]),
        .target(name: "MLBuildDatasets", dependencies: ["MLBuildTraining"], exclude: ["README.md"]),
        .target(name: "MLBuildOCI", dependencies: ["CArchive", "CZlib", .product(name: "Crypto", package: "swift-crypto")], exclude: ["README.md"]),
        .target(
            name: "MLBuildRules",
            dependencies: ["MLBuildCore", "MLBuildCache", "MLBuildEngine", "MLBuildTraining", "MLBuildDatasets", "MLBuildOCI"],
            exclude: ["README.md"]
        ),
        // libFuzzer's driver runs the fuzzer; build with `-Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library`.
        .target(name: "CFuzzerEntry"),
        .executableTarget(name: "MlfileFuzzer", dependencies: ["CFuzzerEntry", "MLBuildCore", "MLBuildEngine", "MLBuildRules"]),
        // model.json decoding + validation, and `mlbuild predict` input mapping (see ./run).
        .target(name: "ModelFuzzSupport", dependencies: ["MLBuildTraining", "MLBuildDatasets", "MLBuildRules"]),
        .executableTarget(name: "ModelJSONFuzzer", dependencies: ["CFuzzerEntry", "ModelFuzzSupport", "MLBuildDatasets", "MLBuildRules"]),
        .executableTarget(name: "PredictInputFuzzer", dependencies: ["CFuzzerEntry", "ModelFuzzSupport", "MLBuildDatasets", "MLBuildRules"]),
    ]
)
