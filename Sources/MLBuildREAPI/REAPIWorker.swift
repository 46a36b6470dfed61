import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import MLBuildCache
import MLBuildCore
import SwiftProtobuf
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `mlbuild worker`: a bot of the Remote Workers API (google.devtools.remoteworkers.v1test2,
/// what BuildGrid schedules onto). It opens a bot session advertising its platform properties
/// on its primary device, then keeps calling `UpdateBotSession` (a long poll while idle, a
/// heartbeat every second while it runs a lease), runs each lease it is given (one at a time)
/// with `REAPILeaseRunner`, and reports it COMPLETED with the `ActionResult`. If the worker
/// dies, the server lets its session expire and hands the lease to another bot.
public final class REAPIWorker: Sendable {
    public struct Configuration: Sendable {
        public var scheduler: REAPIEndpoint
        public var instance: String
        public var header: RemoteCacheHeader?
        public var botID: String
        /// Platform properties of the primary device, as `Platform` properties name them.
        public var properties: [(name: String, value: String)]
        public var sandbox: Sandbox
        public var workDirectory: String

        public enum Sandbox: Sendable {
            case none
            case buildboxRun(executable: String, mounts: [String])
        }

        public init(scheduler: REAPIEndpoint, instance: String, header: RemoteCacheHeader?, botID: String,
                    properties: [(name: String, value: String)], sandbox: Sandbox, workDirectory: String) {
            self.scheduler = scheduler
            self.instance = instance
            self.header = header
            self.botID = botID
            self.properties = properties
            self.sandbox = sandbox
            self.workDirectory = workDirectory
        }
    }

    public let configuration: Configuration
    private let log: @Sendable (String) -> Void
    private let client: GRPCClient<HTTP2ClientTransport.Posix>
    private let metadata: Metadata
    private let store: ContentStore
    /// The CAS connection; made again after a failure turned it off.
    private let connection = Mutex<REAPICacheBackend?>(nil)

    public init(configuration: Configuration, log: @escaping @Sendable (String) -> Void) throws {
        self.configuration = configuration
        self.log = log
        var metadata = Metadata()
        if let header = configuration.header { metadata.addString(header.value, forKey: header.name.lowercased()) }
        self.metadata = metadata
        let transport = try HTTP2ClientTransport.Posix(
            target: .dns(host: configuration.scheduler.host, port: configuration.scheduler.port),
            transportSecurity: configuration.scheduler.usesTLS ? .tls : .plaintext)
        client = GRPCClient(transport: transport)
        store = ContentStore(layout: CacheLayout(root: "\(configuration.workDirectory)/cas"))
    }

    typealias BotSession = Google_Devtools_Remoteworkers_V1test2_BotSession
    typealias Lease = Google_Devtools_Remoteworkers_V1test2_Lease

    /// Runs until the task is cancelled (then the session is left to expire: a lease in
    /// progress is stopped and goes back to the queue).
    public func run() async throws {
        try FileSystem.createDirectories("\(configuration.workDirectory)/cas")
        let client = self.client
        let connections = Task { try? await client.runConnections() }
        defer {
            client.beginGracefulShutdown()
            connections.cancel()
        }
        let bots = Google_Devtools_Remoteworkers_V1test2_Bots.Client(wrapping: client)
        var session: BotSession?
        var current: RunningLease?
        var finished: [String: Lease] = [:]   // by lease id, reported until the server drops them
        var failures = 0
        while !Task.isCancelled {
            do {
                guard var open = session else {
                    session = try await create(bots)
                    if failures > 0 { log("mlbuild worker: connected to \(configuration.scheduler) again") }
                    failures = 0
                    log("mlbuild worker: bot \(configuration.botID) joined \(configuration.scheduler) as \(session?.name ?? "?")")
                    continue
                }
                if let running = current, let done = running.outcome {
                    finished[running.id] = done
                    current = nil
                }
                // Our view of each lease the server listed: done (with its result), or running.
                open.leases = open.leases.map { lease in
                    if let done = finished[lease.id] { return done }
                    var lease = lease
                    if lease.id == current?.id { lease.state = .active }
                    return lease
                }
                open.status = .ok
                var request = Google_Devtools_Remoteworkers_V1test2_UpdateBotSessionRequest()
                request.name = open.name
                request.botSession = open
                var options = CallOptions.defaults
                options.timeout = .seconds(30)
                let answer = try await bots.updateBotSession(request, metadata: metadata, options: options)
                failures = 0
                session = answer
                let listed = Set(answer.leases.map(\.id))
                finished = finished.filter { listed.contains($0.key) }
                // A lease the server cancelled, or no longer lists while it runs here (BuildGrid drops
                // a cancelled job's lease): its command is stopped and nothing is reported.
                if let running = current, running.outcome == nil,
                   !answer.leases.contains(where: { $0.id == running.id && $0.state != .cancelled }) {
                    running.cancel()
                    current = nil
                    log("mlbuild worker: lease \(running.id) cancelled by the server")
                }
                // BuildGrid lists a lease it assigned as ACTIVE already; any lease that is neither
                // done nor cancelled and not running here is one to run.
                if current == nil, let lease = answer.leases.first(where: {
                    ($0.state == .pending || $0.state == .active) && finished[$0.id] == nil
                }) {
                    log("mlbuild worker: lease \(lease.id): running")
                    let running = RunningLease(id: lease.id)
                    running.start { await self.execute(lease) }
                    current = running
                    // The next update (at once when the lease is done, else within a second) says
                    // ACTIVE or COMPLETED: a short action costs one round trip, not two.
                }
                if let running = current {
                    // A heartbeat a second while the lease runs, or at once when it is done.
                    for _ in 0..<100 where running.outcome == nil && !Task.isCancelled { try? await Task.sleep(for: .milliseconds(10)) }
                }
            } catch {
                if Task.isCancelled { break }
                failures += 1
                if let rpc = error as? RPCError, rpc.code == .notFound || rpc.code == .invalidArgument || rpc.code == .permissionDenied {
                    // The server forgot the session (restarted, or it expired): join again.
                    session = nil
                }
                if failures == 1 || failures % 30 == 0 {
                    log("mlbuild worker: \(configuration.scheduler): \(REAPIWorker.describe(error)); retrying")
                }
                // Otherwise the session stays: a scheduler that restarts keeps it in its database.
                try? await Task.sleep(for: .milliseconds(min(5000, 250 * (1 << min(failures, 5)))))
            }
        }
        current?.cancel()
    }

    /// A lease being run, and its COMPLETED report once it is done.
    final class RunningLease: Sendable {
        let id: String
        private let state = Mutex<(task: Task<Void, Never>?, outcome: Lease?)>((nil, nil))

        init(id: String) { self.id = id }

        var outcome: Lease? { state.withLock { $0.outcome } }

        func start(_ body: @escaping @Sendable () async -> Lease) {
            let task = Task {
                let done = await body()
                self.state.withLock { $0.outcome = done }
            }
            state.withLock { $0.task = task }
        }

        func cancel() { state.withLock { $0.task }?.cancel() }
    }

    private func create(_ bots: Google_Devtools_Remoteworkers_V1test2_Bots.Client<HTTP2ClientTransport.Posix>) async throws -> BotSession {
        var device = Google_Devtools_Remoteworkers_V1test2_Device()
        device.handle = configuration.botID
        device.properties = configuration.properties.map { name, value in
            var property = Google_Devtools_Remoteworkers_V1test2_Device.Property()
            property.key = name
            property.value = value
            return property
        }
        var session = BotSession()
        session.botID = configuration.botID
        session.status = .ok
        session.worker.devices = [device]
        var request = Google_Devtools_Remoteworkers_V1test2_CreateBotSessionRequest()
        request.parent = configuration.instance
        request.botSession = session
        var options = CallOptions.defaults
        options.timeout = .seconds(30)
        return try await bots.createBotSession(request, metadata: metadata, options: options)
    }

    /// The CAS connection, made again when a failure turned the last one off.
    private func casConnection() throws -> REAPICacheBackend {
        try connection.withLock { existing in
            if let existing, existing.isAvailable { return existing }
            let made = try REAPICacheBackend(endpoint: configuration.scheduler, instance: configuration.instance,
                                             header: configuration.header, requestTimeout: 300, uploadEnabled: true,
                                             role: .executor, onWarning: { _ in })
            existing = made
            return made
        }
    }

    /// Runs one lease to its COMPLETED report.
    private func execute(_ lease: Lease) async -> Lease {
        var done = lease
        done.state = .completed
        let started = ContinuousClock.now
        do {
            let runner = REAPILeaseRunner(connection: try casConnection(), store: store, workDirectory: configuration.workDirectory,
                                          botID: configuration.botID, sandbox: sandbox, tokenFile: try tokenFile())
            let result = try await runner.run(payload: lease.payload, leaseID: lease.id)
            done.result = try Google_Protobuf_Any(message: result)
            done.status.code = 0
            log("mlbuild worker: lease \(lease.id) done, exit \(result.exitCode) (\(String(format: "%.2f", (ContinuousClock.now - started).seconds))s)")
        } catch let timedOut as REAPILeaseRunner.TimedOut {
            done.result = (try? Google_Protobuf_Any(message: timedOut.result)) ?? Google_Protobuf_Any()
            done.status.code = Int32(RPCError.Code.deadlineExceeded.rawValue)
            done.status.message = "the action ran past its timeout"
            log("mlbuild worker: lease \(lease.id) timed out")
        } catch {
            let code: RPCError.Code = (error as? RPCError)?.code ?? .internalError
            done.status.code = Int32(code.rawValue)
            done.status.message = REAPIWorker.describe(error)
            log("mlbuild worker: lease \(lease.id) failed: \(REAPIWorker.describe(error))")
        }
        return done
    }

    /// buildbox-run takes credentials only as a bearer token in a file: the worker's
    /// `Authorization: Bearer …` header written there (0600, in the work directory), or nil
    /// without a header. Any other header cannot reach it.
    private func tokenFile() throws -> String? {
        guard case .buildboxRun = configuration.sandbox, let header = configuration.header else { return nil }
        let prefix = "bearer "
        guard header.name.lowercased() == "authorization", header.value.lowercased().hasPrefix(prefix) else {
            throw REAPILeaseRunner.Failure(description: "buildbox-run sends credentials only as 'Authorization: Bearer TOKEN', not a '\(header.name)' header")
        }
        let path = "\(configuration.workDirectory)/access-token"
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw FileSystem.Failure("write", path) }
        defer { close(descriptor) }
        let token = Array(header.value.dropFirst(prefix.count).utf8)
        guard write(descriptor, token, token.count) == token.count else { throw FileSystem.Failure("write", path) }
        return path
    }

    private var sandbox: REAPILeaseRunner.Sandbox {
        switch configuration.sandbox {
        case .none: return .none
        case let .buildboxRun(executable, mounts): return .buildboxRun(executable: executable, mounts: mounts)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let rpc = error as? RPCError { return "\(REAPICacheBackend.name(of: rpc.code)): \(rpc.message)" }
        return "\(error)"
    }
}

extension Duration {
    fileprivate var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
