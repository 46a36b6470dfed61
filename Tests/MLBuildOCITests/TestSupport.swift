import Foundation
import Testing
import MLBuildBasics
@testable import MLBuildOCI

/// A fresh directory per test, removed by `remove()` (call it in a `defer`).
struct TempDir {
    let url: URL

    init(_ name: String = "oci") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "mlbuild-\(name)-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ relative: String) -> URL { url.appendingPathComponent(relative) }

    @discardableResult
    func write(_ relative: String, _ bytes: [UInt8], mode: Int = 0o644) throws -> URL {
        let file = path(relative)
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: file.path)
        return file
    }

    @discardableResult
    func write(_ relative: String, _ text: String, mode: Int = 0o644) throws -> URL {
        try write(relative, Array(text.utf8), mode: mode)
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}

struct ToolResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum Tools {
    /// The absolute path of `name` on PATH, or nil.
    static func find(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Records a clear failure when a real tool the test needs is missing (CI installs them).
    static func require(_ name: String, package: String? = nil) -> String? {
        if let found = find(name) { return found }
        Issue.record("'\(name)' is not installed: apt-get install -y \(package ?? name)")
        return nil
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> ToolResult {
        let outDir = FileManager.default.temporaryDirectory.appendingPathComponent("mlbuild-tool-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: outDir) }
        let out = outDir.appendingPathComponent("out"), err = outDir.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return ToolResult(
            status: process.terminationStatus,
            stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}

/// Small model-like fixtures and image specs shared by the tests.
enum Fixture {
    /// Deterministic pseudo-random bytes (SplitMix64), mixed with runs so gzip has work to do.
    static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        var out = [UInt8]()
        out.reserveCapacity(count)
        while out.count < count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            for i in 0..<8 where out.count < count { out.append(UInt8(truncatingIfNeeded: z >> (8 * UInt64(i)))) }
            if z % 4 == 0 { out.append(contentsOf: [UInt8](repeating: UInt8(z % 7), count: min(64, count - out.count))) }
        }
        return out
    }

    /// model/{weights.bin, config.json, tokenizer/vocab.txt} and app/{serve.sh, settings.toml}.
    static func makeProject(in dir: TempDir, weightsSeed: UInt64 = 1) throws {
        try dir.write("model/weights.bin", bytes(count: 300_000, seed: weightsSeed))
        try dir.write("model/config.json", "{\"hidden\": 16}\n")
        try dir.write("model/tokenizer/vocab.txt", "a\nb\nc\n")
        try dir.write("app/serve.sh", "#!/bin/sh\nexec cat /model/config.json\n", mode: 0o755)
        try dir.write("app/settings.toml", "port = 8080\n")
    }

    static func spec(for dir: TempDir, epoch: Int64? = nil) -> ImageSpec {
        ImageSpec(
            layers: [
                LayerSpec(name: "model", entries: [LayerEntry(imagePath: "/model", source: dir.path("model"))]),
                LayerSpec(name: "files", entries: [
                    LayerEntry(imagePath: "/srv/", source: dir.path("app/serve.sh")),
                    LayerEntry(imagePath: "/etc/app/settings.toml", source: dir.path("app/settings.toml")),
                ]),
            ],
            entrypoint: ["/srv/serve.sh"], cmd: ["--port", "8080"], env: ["MODEL_DIR=/model", "PATH=/usr/bin:/bin"],
            workdir: "/srv", user: "1000:1000", exposedPorts: ["8080"], labels: ["team": "ml"],
            tag: "1.0.0", version: "1.0.0", revision: "abc123", source: "https://example.invalid/repo",
            annotations: ["dev.mlbuild.model.accuracy": "0.93", "dev.mlbuild.lineage.dataset": "sha256:" + String(repeating: "0", count: 64)],
            sourceDateEpoch: epoch)
    }

    static func sha256(_ url: URL) throws -> String { try ContentDigest.ofFile(url).digest.prefixed }
}

/// Counts lookups/stores of a directory cache. The lock guards the counters.
final class CountingCache: LayerBlobCache, @unchecked Sendable {
    let inner: DirectoryLayerBlobCache
    private let lock = NSLock()
    private var _lookups = 0, _hits = 0, _stores = 0

    init(root: URL) { inner = DirectoryLayerBlobCache(root: root) }

    var lookups: Int { lock.withLock { _lookups } }
    var hits: Int { lock.withLock { _hits } }
    var stores: Int { lock.withLock { _stores } }

    func lookup(key: String) throws -> CachedLayerBlob? {
        let found = try inner.lookup(key: key)
        lock.withLock {
            _lookups += 1
            if found != nil { _hits += 1 }
        }
        return found
    }

    func store(key: String, blob: CachedLayerBlob) throws -> CachedLayerBlob {
        lock.withLock { _stores += 1 }
        return try inner.store(key: key, blob: blob)
    }
}

/// Reads and rewrites small tar archives (test images) entry by entry.
enum TarSurgery {
    struct Entry {
        var info: ArchiveEntryInfo
        var bytes: [UInt8]
    }

    static func read(_ url: URL) throws -> [Entry] {
        let reader = try ArchiveReader(file: url)
        var entries: [Entry] = []
        while let info = try reader.next() {
            entries.append(Entry(info: info, bytes: info.kind == .regular ? try reader.readAll() : []))
        }
        try reader.finish()
        return entries
    }

    static func write(_ entries: [Entry], to url: URL) throws {
        let writer = try ArchiveWriter(file: url)
        for entry in entries {
            switch entry.info.kind {
            case .directory: try writer.writeDirectory(path: entry.info.path)
            case .symlink: try writer.writeSymlink(path: entry.info.path, target: entry.info.linkTarget ?? "")
            default: try writer.writeFile(path: entry.info.path, mode: entry.info.mode, bytes: entry.bytes)
            }
        }
        try writer.finish()
    }

    /// Extracts `image.tar` into a directory (test images only; paths are ours).
    static func extract(_ url: URL, to dir: URL) throws {
        for entry in try read(url) where entry.info.kind == .regular {
            let file = dir.appendingPathComponent(entry.info.path)
            try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(entry.bytes).write(to: file)
        }
    }

    static func json(_ bytes: [UInt8]) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(bytes))
        return try #require(object as? [String: Any])
    }

    static func blob(_ entries: [Entry], _ digest: ContentDigest) throws -> [UInt8] {
        try #require(entries.first { $0.info.path == "blobs/sha256/" + digest.hex }).bytes
    }
}
