import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway `mlflow server` (PyPI mlflow, in the venv scripts/install-test-tools makes at
/// `.venv-tests/`, or `$MLBUILD_TEST_MLFLOW`) on a free loopback port: a SQLite backend store and
/// proxied artifacts in a private temp directory, one worker, telemetry off. Stopped by signalling
/// its process group (`stop()`, also on deinit), and the directory removed.
public final class MLflowServer: @unchecked Sendable {
    public typealias Failure = TestServerFailure

    public private(set) var port = 0
    public let directory: URL
    public var url: String { "http://127.0.0.1:\(port)" }

    /// Guards `process`.
    private let lock = NSLock()
    private var process: Process?

    /// The mlflow executable the tests use.
    public static func executable(packageRoot: URL) -> String {
        if let chosen = ProcessInfo.processInfo.environment["MLBUILD_TEST_MLFLOW"], !chosen.isEmpty { return chosen }
        return packageRoot.appendingPathComponent(".venv-tests/bin/mlflow").path
    }

    /// Starts the server and waits (up to `startupDeadline` seconds: mlflow imports a lot) until
    /// `/health` answers.
    public init(executable: String, startupDeadline: Double = 180) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw Failure.notInstalled("mlflow not found at \(executable): run scripts/install-test-tools "
                + "(it makes .venv-tests/ with mlflow), or set MLBUILD_TEST_MLFLOW to an mlflow executable")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mlbuild-mlflow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("artifacts"), withIntermediateDirectories: true)
        var lastError = "unknown"
        for _ in 0..<3 {
            let candidate = try NginxServer.freePort()
            let process = try Self.launch(executable: executable, directory: directory, port: candidate)
            lock.withLock { self.process = process }
            if Self.waitForHealth(port: candidate, process: process, deadline: startupDeadline) {
                port = candidate
                return
            }
            lastError = (try? String(contentsOf: directory.appendingPathComponent("server.log"), encoding: .utf8)).map {
                String($0.suffix(2000))
            } ?? "no log"
            kill()
            if !lastError.contains("already in use") { break }
        }
        try? FileManager.default.removeItem(at: directory)
        throw Failure.startFailed("mlflow server did not start: \(lastError)")
    }

    deinit { stop() }

    /// A loopback port nothing listens on (just freed): a server that is down.
    public static func unusedPort() throws -> Int { try NginxServer.freePort() }

    private static func launch(executable: String, directory: URL, port: Int) throws -> Process {
        // Foundation starts the child as the leader of a new process group, which the server's
        // uvicorn worker and job runner join: `kill()` stops them together.
        var environment = ProcessInfo.processInfo.environment
        environment["MLFLOW_DISABLE_TELEMETRY"] = "true"
        environment["DO_NOT_TRACK"] = "true"
        environment["MLFLOW_TRACKING_URI"] = nil
        return try ServerProcess.launch(executable: executable, arguments: [
            "server", "--host", "127.0.0.1", "--port", String(port),
            "--backend-store-uri", "sqlite:///\(directory.path)/mlflow.db",
            "--artifacts-destination", directory.appendingPathComponent("artifacts").path,
            "--workers", "1",
        ], environment: environment, directory: directory, logName: "server.log")
    }

    private static func waitForHealth(port: Int, process: Process, deadline: Double) -> Bool {
        let start = Date()
        while Date().timeIntervalSince(start) < deadline {
            guard process.isRunning else { return false }
            if let connection = try? HTTPConnection(port: port, timeout: 5),
               let response = try? connection.request("GET", "/health"), response.status == 200 {
                return true
            }
            usleep(300_000)
        }
        return false
    }

    /// A GET of the REST API (`path` after /api/2.0/mlflow/): status and body.
    public func get(_ path: String) throws -> HTTPConnection.Response {
        try HTTPConnection(port: port, timeout: 30).request("GET", "/api/2.0/mlflow/\(path)")
    }

    /// A POST of JSON to the REST API.
    public func post(_ path: String, json: String) throws -> HTTPConnection.Response {
        try HTTPConnection(port: port, timeout: 30).request(
            "POST", "/api/2.0/mlflow/\(path)", headers: [("Content-Type", "application/json")], body: Array(json.utf8))
    }

    /// A GET of any path (the artifact proxy).
    public func raw(_ path: String) throws -> HTTPConnection.Response {
        try HTTPConnection(port: port, timeout: 30).request("GET", path)
    }

    /// SIGTERM to the server's process group, SIGKILL to it after 2 s (a throwaway server:
    /// its store is deleted next). Only a group of its own
    /// is signalled (never the test runner's): otherwise only the server process is.
    private func kill() {
        let running = lock.withLock { () -> Process? in
            defer { process = nil }
            return process
        }
        if let running { ServerProcess.terminate(running) }
    }

    /// Stops the server and removes its directory.
    public func stop() {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }
}
