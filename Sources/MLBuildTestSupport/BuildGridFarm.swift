import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A throwaway BuildGrid farm on loopback: PostgreSQL (Debian's, its own cluster in a temp
/// directory, started as the `postgres` user when the tests run as root), BuildGrid 0.9.1
/// (`.venv-tests/buildgrid/bin/bgd`, or `$MLBUILD_TEST_BGD`; its database migrated with `bgd
/// migrate apply`) with CAS, action cache, execution and bots services on one port, and any
/// number of `mlbuild worker` processes. Everything is stopped by PID (`stop()`, also on deinit);
/// the directory is removed.
public final class BuildGridFarm: @unchecked Sendable {
    public typealias Failure = TestServerFailure

    public private(set) var port = 0
    public var url: String { "grpc://127.0.0.1:\(port)" }
    public let directory: URL

    private let bgd: String
    private let pgBin: String
    private let pgPort: Int
    private let lock = NSLock()
    private var server: Process?
    private var postgres: Process?
    private var workers: [String: Process] = [:]

    /// `bgd` the tests use.
    public static func bgd(packageRoot: URL) -> String {
        if let chosen = ProcessInfo.processInfo.environment["MLBUILD_TEST_BGD"], !chosen.isEmpty { return chosen }
        return packageRoot.appendingPathComponent(".venv-tests/buildgrid/bin/bgd").path
    }

    /// Debian's PostgreSQL server programs (the newest installed major version).
    static func postgresBin() -> String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).compactMap(Int.init).sorted()
        return versions.last.map { "\(root)/\($0)/bin" }
    }

    /// Starts PostgreSQL and BuildGrid (no workers yet) and waits until BuildGrid's port accepts
    /// connections. `keepalive`: seconds after which BuildGrid gives up on a silent bot and
    /// requeues its lease.
    public init(bgd: String, keepalive: Int = 6, startupDeadline: Double = 60) throws {
        guard FileManager.default.isExecutableFile(atPath: bgd) else {
            throw Failure.notInstalled("bgd not found at \(bgd): run scripts/install-test-tools (BuildGrid into .venv-tests/buildgrid/), or set MLBUILD_TEST_BGD")
        }
        guard let pgBin = Self.postgresBin(), FileManager.default.isExecutableFile(atPath: "\(pgBin)/postgres") else {
            throw Failure.notInstalled("PostgreSQL not found under /usr/lib/postgresql: run scripts/install-deps --tests")
        }
        self.bgd = bgd
        self.pgBin = pgBin
        directory = URL(fileURLWithPath: "/tmp/mlbuild-buildgrid-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        chmod(directory.path, 0o777)
        pgPort = try NginxServer.freePort()
        do {
            try startPostgres(deadline: startupDeadline)
            try migrate()
            try startServer(keepalive: keepalive, deadline: startupDeadline)
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    private var asRoot: Bool { getuid() == 0 }

    /// `command` as the `postgres` user when running as root (PostgreSQL refuses root).
    private func asDatabaseUser(_ command: [String]) -> (String, [String]) {
        asRoot ? ("/usr/sbin/runuser", ["-u", "postgres", "--"] + command) : (command[0], Array(command.dropFirst()))
    }

    private func startPostgres(deadline: Double) throws {
        let pg = directory.appendingPathComponent("pg")
        try FileManager.default.createDirectory(at: pg, withIntermediateDirectories: true)
        if asRoot { try FileManager.default.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: pg.path) }
        let (initdb, initArguments) = asDatabaseUser(["\(pgBin)/initdb", "-D", "\(pg.path)/data", "-A", "trust", "-U", "bgd", "--no-sync"])
        let initResult = try Self.runToEnd(initdb, initArguments, directory: directory)
        guard initResult.status == 0 else { throw Failure.startFailed("initdb failed: \(initResult.output.suffix(2000))") }
        let (program, arguments) = asDatabaseUser(["\(pgBin)/postgres", "-D", "\(pg.path)/data", "-p", "\(pgPort)", "-k", pg.path,
                                                   "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
        let process = try ServerProcess.launch(executable: program, arguments: arguments, directory: directory, logName: "postgres.log")
        lock.withLock { postgres = process }
        guard Self.waitForPort(pgPort, process: process, deadline: deadline) else {
            throw Failure.startFailed("PostgreSQL did not start: \(log("postgres.log").suffix(2000))")
        }
        let (createdb, createArguments) = asDatabaseUser(["\(pgBin)/createdb", "-h", "127.0.0.1", "-p", "\(pgPort)", "-U", "bgd", "bgd"])
        let created = try Self.runToEnd(createdb, createArguments, directory: directory)
        guard created.status == 0 else { throw Failure.startFailed("createdb failed: \(created.output.suffix(2000))") }
    }

    private var connectionString: String { "postgresql://bgd@127.0.0.1:\(pgPort)/bgd" }

    private func migrate() throws {
        let result = try Self.runToEnd(bgd, ["migrate", "apply", connectionString], directory: directory)
        guard result.status == 0 else { throw Failure.startFailed("bgd migrate apply failed: \(result.output.suffix(2000))") }
    }

    private func startServer(keepalive: Int, deadline: Double) throws {
        var lastError = "unknown"
        for _ in 0..<3 {
            let candidate = try NginxServer.freePort()
            let config = directory.appendingPathComponent("bgd.yml")
            try Self.configuration(port: candidate, sql: connectionString, cas: directory.appendingPathComponent("cas").path,
                                   keepalive: keepalive).write(to: config, atomically: true, encoding: .utf8)
            let process = try ServerProcess.launch(executable: bgd, arguments: ["server", "start", config.path],
                                                   environment: ProcessInfo.processInfo.environment.merging(["PYTHONUNBUFFERED": "1"]) { $1 },
                                                   directory: directory, logName: "bgd.log")
            lock.withLock { server = process }
            if Self.waitForPort(candidate, process: process, deadline: deadline) {
                port = candidate
                return
            }
            lastError = String(log("bgd.log").suffix(2000))
            stopServer()
        }
        throw Failure.startFailed("BuildGrid did not start: \(lastError)")
    }

    /// One instance (""), everything on one port; 64 gRPC threads (each Execute stream and each
    /// idle bot's long poll holds one: the default, 5 per core, is too few for `--remote-jobs 32`); the scheduler in PostgreSQL assigns with one
    /// thread every 0.1 s; cores, memory and gpu are platform properties a job and a bot must match
    /// (with OSFamily and ISA, always matched); a silent bot is given up after `keepalive` seconds.
    static func configuration(port: Int, sql: String, cas: String, keepalive: Int) -> String {
        """
        server:
          - !channel
            address: "127.0.0.1:\(port)"
            insecure-mode: true
        connections:
          - !sql-connection &sql
            connection-string: \(sql)
            pool-size: 5
            max-overflow: 10
        storages:
          - !disk-storage &main-storage
            path: \(cas)
        caches:
          - !lru-action-cache &main-action
            storage: *main-storage
            max-cached-refs: 100000
            allow-updates: true
            cache-failed-actions: false
        schedulers:
          - !sql-scheduler &state
            sql: *sql
            storage: *main-storage
            action-cache: *main-action
            bot-session-keepalive-timeout: \(keepalive)
            session-expiry-timer-interval: 1.0
            poll-interval: 0.05
            bot-poll-interval: 0.05
            assigners:
              - !priority-age-assigner
                count: 1
                interval: 0.1
                jitter-factor: 0.1
            property-set: !dynamic-property-set
              match-property-keys: [cores, memory, gpu]
        thread-pool-size: 64
        instances:
          - name: ""
            services:
              - !action-cache
                cache: *main-action
              - !execution
                scheduler: *state
              - !cas
                storage: *main-storage
              - !bytestream
                storage: *main-storage
        """
    }

    /// Starts `mlbuild worker` as `botID` (its log is `worker-ID.log` in the farm's directory).
    @discardableResult
    public func startWorker(_ botID: String, arguments: [String] = []) throws -> Process {
        let work = directory.appendingPathComponent("work-\(botID)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let process = try ServerProcess.launch(
            executable: MLBuildBinary.path,
            arguments: ["worker", "--scheduler", url, "--bot-id", botID, "--work-dir", work.path] + arguments,
            directory: directory, logName: "worker-\(botID).log")
        lock.withLock { workers[botID] = process }
        return process
    }

    /// SIGKILL: the worker dies mid-lease without a word to the scheduler.
    public func killWorker(_ botID: String) {
        guard let process = lock.withLock({ workers.removeValue(forKey: botID) }) else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    public func workerLog(_ botID: String) -> String { log("worker-\(botID).log") }

    public var serverLog: String { log("bgd.log") }

    private func log(_ name: String) -> String {
        (try? String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)) ?? ""
    }

    /// Stops BuildGrid and starts it again on the same port with the same database: open
    /// streams break, operations and bot sessions live on in PostgreSQL.
    public func restartServer(deadline: Double = 60) throws {
        stopServer()
        let config = directory.appendingPathComponent("bgd.yml")
        let process = try ServerProcess.launch(executable: bgd, arguments: ["server", "start", config.path],
                                               environment: ProcessInfo.processInfo.environment.merging(["PYTHONUNBUFFERED": "1"]) { $1 },
                                               directory: directory, logName: "bgd-restarted.log")
        lock.withLock { server = process }
        guard Self.waitForPort(port, process: process, deadline: deadline) else {
            throw Failure.startFailed("BuildGrid did not start again: \(log("bgd-restarted.log").suffix(2000))")
        }
    }

    /// Stops BuildGrid only (the workers and the database stay).
    public func stopServer() {
        let running = lock.withLock { () -> Process? in
            defer { server = nil }
            return server
        }
        if let running { ServerProcess.terminate(running) }
    }

    /// Stops the workers, BuildGrid and PostgreSQL (by the postmaster's PID), and removes the directory.
    public func stop() {
        let (workers, postgres) = lock.withLock { () -> ([Process], Process?) in
            defer {
                self.workers = [:]
                self.postgres = nil
            }
            return (Array(self.workers.values), self.postgres)
        }
        for worker in workers { ServerProcess.terminate(worker) }
        stopServer()
        if let postgres {
            // runuser leads it: the postmaster's own PID is in its data directory.
            let pidFile = directory.appendingPathComponent("pg/data/postmaster.pid").path
            if let text = try? String(contentsOfFile: pidFile, encoding: .utf8), let line = text.split(separator: "\n").first,
               let pid = pid_t(line) {
                kill(pid, SIGINT)
                let start = Date()
                while kill(pid, 0) == 0, Date().timeIntervalSince(start) < 10 { usleep(50_000) }
                kill(pid, SIGKILL)
            }
            ServerProcess.terminate(postgres)
        }
        try? FileManager.default.removeItem(at: directory)
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

    /// Runs a short command to its end, output merged.
    static func runToEnd(_ executable: String, _ arguments: [String], directory: URL) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
