import Foundation

/// The built `mlbuild` executable, for end-to-end tests: `$MLBUILD_BIN`, else the `mlbuild` next
/// to the running test bundle (SwiftPM builds both into the same directory).
public enum MLBuildBinary {
    public static var path: String {
        if let explicit = ProcessInfo.processInfo.environment["MLBUILD_BIN"], !explicit.isEmpty { return explicit }
        var candidates: [String] = []
        let argv0 = URL(fileURLWithPath: CommandLine.arguments.first ?? "")
        var dir = argv0.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent("mlbuild").path)
            dir = dir.deletingLastPathComponent()
        }
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/mlbuild").path)
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates.last ?? "mlbuild"
    }
}

/// A temp workspace with an Mlfile, run with the real binary.
public final class MLBuildWorkspace: @unchecked Sendable {  // immutable after init
    public let directory: TemporaryDirectory
    /// The cache directory (inside the workspace unless given).
    public let cacheDirectory: String

    public init(mlfile: String? = nil, cacheDirectory: String? = nil) throws {
        directory = try TemporaryDirectory(prefix: "mlbuild-ws")
        self.cacheDirectory = cacheDirectory ?? "\(directory.path)/cache"
        if let mlfile { try directory.write("Mlfile", mlfile) }
    }

    public var path: String { directory.path }

    public func write(_ relative: String, _ content: String) throws { try directory.write(relative, content) }
    public func read(_ relative: String) throws -> String { try directory.read(relative) }
    public func exists(_ relative: String) -> Bool { directory.exists(relative) }

    /// Runs `mlbuild ARGS` in the workspace with plain (CI) output.
    @discardableResult
    public func run(_ arguments: [String], environment: [String: String?] = [:]) throws -> ProcessResult {
        var env: [String: String?] = ["CI": "true", "MLBUILD_CACHE_DIR": cacheDirectory]
        for (k, v) in environment { env[k] = v }
        return try ProcessRunner.run(MLBuildBinary.path, arguments, in: path, environment: env)
    }

    /// Runs a build with `--events` and returns the result and the events by target.
    @discardableResult
    public func build(_ arguments: [String] = [], environment: [String: String?] = [:]) throws -> BuildRun {
        let events = "\(path)/.events-\(UInt64.random(in: 0 ... .max)).jsonl"
        let result = try run(arguments + ["--events", events], environment: environment)
        let text = (try? String(contentsOfFile: events, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: events)
        return BuildRun(result: result, eventsText: text)
    }
}

/// A build's process result and its parsed events.
public struct BuildRun: Sendable {
    public var result: ProcessResult
    public var eventsText: String

    public var events: [[String: any Sendable]] {
        eventsText.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: any Sendable]
        }
    }

    /// target → status.
    public var statuses: [String: String] {
        var out: [String: String] = [:]
        for event in events where event["type"] as? String == "target" {
            if let target = event["target"] as? String, let status = event["status"] as? String { out[target] = status }
        }
        return out
    }

    /// target → key.
    public var keys: [String: String] {
        var out: [String: String] = [:]
        for event in events where event["type"] as? String == "target" {
            if let target = event["target"] as? String, let key = event["key"] as? String { out[target] = key }
        }
        return out
    }

    /// Targets with the given status, sorted.
    public func targets(_ status: String) -> [String] {
        statuses.filter { $0.value == status }.map(\.key).sorted()
    }

    public var summary: [String: any Sendable]? { events.last { $0["type"] as? String == "summary" } }
}
