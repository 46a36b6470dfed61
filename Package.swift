// swift-tools-version:6.1
import PackageDescription

// Imports run one way: CLI → Rules → (Engine, Datasets/Training, OCI, ELF, Plots, Registry) → Cache → Core.
// Training (numeric core) and OCI never import each other; the engine imports neither.
// MLBuildBasics (the work budget) is the leaf under all of them and imports nothing of mlbuild.
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
        // HTTP server for `mlbuild serve`. Traits off: no swift-configuration (we configure
        // from the command line), FoundationEssentials is enough for what we use.
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1", traits: []),
        // Already in the graph through Hummingbird; named to catch NIOTooManyBytesError (413).
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        // `mlbuild serve`: /metrics (Prometheus text format) and the graceful-shutdown ServiceGroup
        // (already in the graph through Hummingbird; named for ServiceGroup and UnixSignals).
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        // Run history (`.mlbuild/history.sqlite`): SQLite through GRDB, which links the system
        // libsqlite3 on Linux (libsqlite3-dev, see scripts/install-deps).
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        // ONNX export: the message types of onnx.proto (the generated code is committed, made by
        // scripts/generate-onnx-proto; no protoc plugin runs in the build).
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        // Remote execution and caching over Bazel's Remote Execution API (gRPC): the client side
        // only, generated code committed (scripts/generate-reapi-proto).
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
    ],
    targets: [
        // libarchive's API (headers from libarchive-dev), the library itself dlopened on first use.
        .target(name: "CArchive", linkerSettings: [.linkedLibrary("dl")]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // zstd layers (`compression = zstd`): libzstd's multithreaded streaming API.
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        // gzip layers: libdeflate compresses each block (whole-buffer DEFLATE, ~2.5× zlib's speed).
        .systemLibrary(name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        // posix_spawn and pipe calls Swift's Glibc module does not reach (closefrom, pipe2, pidfd_open).
        .target(name: "CSpawn"),
        // __builtin_prefetch for the boosting passes that gather rows by index.
        .target(name: "CPrefetch"),
        // The basics every module shares: the work budget, one content digest, one atomic file
        // write, one binary codec, one JSON string escaper. Imports nothing of mlbuild, so that
        // Training, Datasets and OCI, which do not import Core, use them too.
        .target(name: "MLBuildBasics", dependencies: [.product(name: "Crypto", package: "swift-crypto")], exclude: ["README.md"]),
        .target(
            name: "MLBuildCore",
            dependencies: ["MLBuildBasics", "CSpawn", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["README.md"]
        ),
        // libcurl shim for the remote cache: dlopens libcurl at run time (not linked).
        .target(name: "CCurl"),
        .target(
            name: "MLBuildCache",
            dependencies: ["MLBuildCore", "CCurl", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["README.md"]
        ),
        .target(name: "MLBuildEngine", dependencies: ["MLBuildBasics", "MLBuildCore", "MLBuildCache"], exclude: ["README.md"]),
        .target(name: "MLBuildTraining", dependencies: ["MLBuildBasics", "CPrefetch"], exclude: ["README.md"]),
        // The run history store (SQLite); imports only Core, so any command can record or read it.
        // One variadic SQLite call (sqlite3_db_config) the history needs; links the SQLite GRDB links.
        .target(name: "CHistorySQLite"),
        .target(
            name: "MLBuildHistory",
            dependencies: ["MLBuildCore", "CHistorySQLite", .product(name: "GRDB", package: "GRDB.swift"),
                           .product(name: "GRDBSQLite", package: "GRDB.swift")],
            exclude: ["README.md"]
        ),
        // Exports history runs to an MLflow tracking server (REST over MLBuildCache's HTTPClient).
        .target(
            name: "MLBuildTracking",
            dependencies: ["MLBuildCore", "MLBuildCache", "MLBuildHistory"],
            exclude: ["README.md"]
        ),
        .target(name: "MLBuildDatasets", dependencies: ["MLBuildBasics", "MLBuildTraining", .product(name: "Crypto", package: "swift-crypto")],
                exclude: ["README.md"]),
        // Writes a model and its fitted transform as one ONNX graph; reads Training and Datasets only.
        .target(
            name: "MLBuildONNX",
            dependencies: ["MLBuildTraining", "MLBuildDatasets", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["README.md", "onnx.proto"]
        ),
        // Draws plot data as self-contained SVG; imports nothing of mlbuild (the data is computed in Training).
        .target(name: "MLBuildPlots", exclude: ["README.md"]),
        .target(
            name: "MLBuildOCI",
            dependencies: ["MLBuildBasics", "CArchive", "CZstd", "CDeflate", "CSpawn", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["README.md"]
        ),
        // Signed build provenance: in-toto Statement v1 + SLSA Provenance v1 in a DSSE envelope,
        // Ed25519 keys in OpenSSL's PEM forms (swift-crypto), and its verification.
        .target(
            name: "MLBuildProvenance",
            dependencies: ["MLBuildBasics", "MLBuildCore", "MLBuildDatasets", "MLBuildOCI", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["README.md"]
        ),
        // Reads ELF headers to find an executable's shared-library closure (the container runtime layer).
        .target(name: "MLBuildELF", exclude: ["README.md"]),
        // A Remote Execution API v2 client (BuildGrid, Buildbarn, BuildBuddy, NativeLink,
        // buildbox-casd): the engine's remote cache over gRPC. Imports the engine for the
        // backend protocol and the cache for its types; nothing imports it but the CLI.
        .target(
            name: "MLBuildREAPI",
            dependencies: [
                "MLBuildCore", "MLBuildCache", "MLBuildEngine",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            exclude: ["README.md", "Protos"]
        ),
        // `mlbuild push`: the OCI distribution API client (blob uploads, manifests, referrers) over
        // MLBuildCache's libcurl client; pushes archives MLBuildOCI verifies. Nothing of the engine.
        .target(
            name: "MLBuildRegistry",
            dependencies: ["MLBuildBasics", "MLBuildCore", "MLBuildCache", "MLBuildOCI"],
            exclude: ["README.md"]
        ),
        .target(
            name: "MLBuildRules",
            dependencies: [
                "MLBuildBasics", "MLBuildCore", "MLBuildCache", "MLBuildEngine", "MLBuildTraining", "MLBuildDatasets", "MLBuildOCI", "MLBuildELF",
                "MLBuildPlots", "MLBuildONNX", "MLBuildProvenance",
                // The deploy kind checks `registry` as `mlbuild push` checks a destination.
                "MLBuildRegistry",
            ],
            exclude: ["README.md"]
        ),
        // The HTTP model server: scores with MLBuildRules' ModelPredictor (the code `predict` runs),
        // never imports the engine or the cache.
        .target(
            name: "MLBuildServe",
            dependencies: [
                "MLBuildRules", "MLBuildDatasets", "MLBuildTraining",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            exclude: ["README.md"]
        ),
        .target(
            name: "MLBuildCLI",
            dependencies: [
                "MLBuildBasics", "MLBuildCore", "MLBuildCache", "MLBuildEngine", "MLBuildRules", "MLBuildDatasets", "MLBuildTraining", "MLBuildOCI",
                "MLBuildServe", "MLBuildHistory", "MLBuildPlots", "MLBuildTracking", "MLBuildONNX", "MLBuildREAPI", "MLBuildProvenance", "MLBuildRegistry",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["README.md"]
        ),
        .executableTarget(name: "mlbuild", dependencies: ["MLBuildCLI"]),
        .target(name: "MLBuildTestSupport", dependencies: ["MLBuildCore", "CZlib"]),
        // Fuzzers (fuzz/run builds them with -sanitize=fuzzer). Every plain `swift build` builds
        // them too, as replay tools over their corpus, so they cannot silently stop compiling;
        // their invariants live in FuzzChecks, which the regression tests share.
        .target(name: "FuzzChecks", dependencies: ["MLBuildCore", "MLBuildEngine", "MLBuildRules", "MLBuildDatasets", "MLBuildTraining"], path: "fuzz/Sources/FuzzChecks"),
        .target(name: "CFuzzerEntry", path: "fuzz/Sources/CFuzzerEntry"),
        .executableTarget(name: "MlfileFuzzer", dependencies: ["CFuzzerEntry", "FuzzChecks"], path: "fuzz/Sources/MlfileFuzzer"),
        .executableTarget(name: "ModelJSONFuzzer", dependencies: ["CFuzzerEntry", "FuzzChecks"], path: "fuzz/Sources/ModelJSONFuzzer"),
        .executableTarget(
            name: "PredictInputFuzzer", dependencies: ["CFuzzerEntry", "FuzzChecks", "MLBuildRules"], path: "fuzz/Sources/PredictInputFuzzer"),
        .testTarget(name: "MLBuildCoreTests", dependencies: ["MLBuildCore", "MLBuildTestSupport", "MLBuildTraining"]),
        .testTarget(
            name: "MLBuildCacheTests",
            dependencies: ["MLBuildCache", "MLBuildTestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        // The engine in memory (InMemoryDisk, a fake command runner): no process, no real file.
        .testTarget(name: "MLBuildEngineTests", dependencies: ["MLBuildEngine", "MLBuildCache", "MLBuildCore", "MLBuildTestSupport"]),
        .testTarget(name: "MLBuildRulesTests", dependencies: ["MLBuildRules", "MLBuildEngine", "MLBuildCore", "MLBuildTraining", "MLBuildOCI"]),
        .testTarget(name: "MLBuildTrainingTests", dependencies: ["MLBuildBasics", "MLBuildTraining"]),
        .testTarget(name: "MLBuildDatasetsTests", dependencies: ["MLBuildBasics", "MLBuildDatasets", "MLBuildTraining"]),
        .testTarget(name: "MLBuildOCITests", dependencies: ["MLBuildOCI", "MLBuildBasics", "CZlib", "CZstd"]),
        .testTarget(name: "MLBuildProvenanceTests", dependencies: ["MLBuildProvenance", "MLBuildBasics", "MLBuildOCI", "MLBuildTestSupport"]),
        .testTarget(name: "MLBuildPlotsTests", dependencies: ["MLBuildPlots"]),
        .testTarget(
            name: "MLBuildONNXTests",
            dependencies: ["MLBuildONNX", "MLBuildTraining", "MLBuildDatasets", "MLBuildCLI", "MLBuildTestSupport",
                           .product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["run_onnx.py"]
        ),
        .testTarget(name: "MLBuildTrackingTests", dependencies: ["MLBuildTracking", "MLBuildHistory"]),
        .testTarget(name: "MLBuildELFTests", dependencies: ["MLBuildELF", "MLBuildTestSupport"]),
        .testTarget(name: "MLBuildCLITests", dependencies: ["MLBuildCLI", "MLBuildTestSupport", "MLBuildTraining", "MLBuildHistory", "MLBuildREAPI"],
                    exclude: ["fairlearn_check.py"]),
        .testTarget(name: "MLBuildRegistryTests", dependencies: ["MLBuildRegistry", "MLBuildCache", "MLBuildOCI", "MLBuildBasics"]),
        .testTarget(name: "MLBuildREAPITests", dependencies: ["MLBuildREAPI", "MLBuildEngine", "MLBuildCache", "MLBuildCore"]),
        .testTarget(name: "FuzzChecksTests", dependencies: ["FuzzChecks", "MLBuildCore", "MLBuildDatasets", "MLBuildRules", "MLBuildTraining"]),
    ]
)
