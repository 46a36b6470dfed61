import Foundation
import Hummingbird
import Logging
import MLBuildDatasets
import NIOCore
import NIOPosix
import ServiceLifecycle

/// `mlbuild serve`'s HTTP server (Hummingbird 2, HTTP/1.1):
///
///     GET  /healthz                      200 {"status": "up"} while the process serves
///     GET  /readyz                       200 {"status": "ready", "models": N}: every model loaded
///                                        and verified (they are before the socket opens);
///                                        503 {"error", "status": "draining"} once shutdown began
///     GET  /v1/models                    {"models": [ServedModel.summary, …]} sorted by name
///     GET  /metrics                      Prometheus text format (ServeMetrics)
///     POST /v1/models/NAME/predict       see PredictionEndpoint; `?partial=true`
///
/// Every error answers `{"error": …}` as JSON (AccessLogMiddleware): 404 unknown route or model,
/// 405 a route with another method, 413 a body above `maxBodyBytes` (before any parsing) or more
/// rows than `maxRows`. Once bound, one plain line goes to standard error, `mlbuild serve:
/// listening on http://HOST:PORT`, with the real port (so `--port 0` is usable by tests and
/// scripts); everything after it on standard error is JSON Lines (JSONLogHandler).
///
/// Threads: `workers` event-loop threads, and as many scoring threads (scoring is CPU work; it
/// runs on a thread pool, not on an event loop or Swift's cooperative pool).
///
/// SIGTERM and SIGINT start a graceful shutdown (Hummingbird's ServiceGroup): the listening
/// socket closes (new connections are refused), requests in flight finish and are answered,
/// idle connections close, then `run` returns. What has not drained after 9.5 s is cut
/// (ModelReloader's deadline) and the process exits 0 all the same.
public struct ModelServer: Sendable {
    public struct Options: Sendable {
        public var host: String
        public var port: Int
        public var maxBodyBytes: Int
        public var maxRows: Int
        public var workers: Int

        public static let defaultMaxBodyBytes = 16 * 1024 * 1024
        public static var defaultWorkers: Int { max(1, System.coreCount) }

        public init(host: String, port: Int, maxBodyBytes: Int = defaultMaxBodyBytes,
                    maxRows: Int = PredictionEndpoint.defaultMaxRows, workers: Int = defaultWorkers) {
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.maxRows = maxRows
            self.workers = workers
        }
    }

    public var sources: [ModelSource]
    public var models: [ServedModel]
    public var options: Options

    /// `models` are `sources` already loaded (the command line loads them first, so a model that
    /// does not verify stops it before anything listens).
    public init(sources: [ModelSource], models: [ServedModel], options: Options) {
        self.sources = sources
        self.models = models
        self.options = options
    }

    public func run() async throws {
        let options = options
        let logger = Logger(label: "mlbuild.serve") { _ in JSONLogHandler() }
        var quietLogger = logger
        // Hummingbird's own start/stop lines would duplicate ours; its warnings still show.
        quietLogger.logLevel = .warning
        let registry = ModelRegistry(models)
        let metrics = ServeMetrics(models: models)
        let endpoint = PredictionEndpoint(maxRows: options.maxRows)
        let scoring = NIOThreadPool(numberOfThreads: options.workers)
        scoring.start()
        let eventLoops = MultiThreadedEventLoopGroup(numberOfThreads: options.workers)

        let router = Router(context: ServeRequestContext.self)
        router.middlewares.add(AccessLogMiddleware(logger: logger, metrics: metrics))
        router.get("/healthz") { _, _ in Self.response(.json(200, .object(["status": .string("up")]))) }
        router.get("/readyz") { _, _ in
            if registry.isDraining {
                return Self.response(.error(503, "shutting down: not taking new work", ["status": .string("draining")]))
            }
            return Self.response(.json(200, .object(["status": .string("ready"), "models": .number(registry.names.count)])))
        }
        router.get("/v1/models") { _, _ in
            Self.response(.json(200, .object(["models": .array(registry.all.map(\.summary))])))
        }
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.text())))
        }
        let maxBodyBytes = options.maxBodyBytes
        router.post("/v1/models/:name/predict") { request, context in
            let name = context.parameters.get("name") ?? ""
            guard let model = registry.model(named: name) else {
                return Self.response(.error(404, "no model named '\(name)' is served (served: \(registry.names.joined(separator: ", ")))"))
            }
            let partial: Bool
            switch request.uri.queryParameters.get("partial") {
            case nil, "false": partial = false
            case "true": partial = true
            case let other?:
                return Self.response(.error(400, "partial must be true or false, got '\(other)'"))
            }
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: maxBodyBytes)
            } catch is NIOTooManyBytesError {
                return Self.response(.error(413, "the request body is larger than \(maxBodyBytes) bytes (--max-body-bytes)"))
            }
            let contentType = request.headers[.contentType]
            let bytes = Array(buffer: body)
            let outcome: PredictionEndpoint.Outcome
            if bytes.count <= Self.inlineScoringBytes {
                outcome = endpoint.predict(model, contentType: contentType, body: bytes, partial: partial)
            } else {
                outcome = try await scoring.runIfActive {
                    endpoint.predict(model, contentType: contentType, body: bytes, partial: partial)
                }
            }
            context.outcome.record(model: model.name, rows: outcome.rows)
            return Self.response(outcome.reply)
        }

        let host = options.host
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: options.port), serverName: "mlbuild"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                FileHandle.standardError.write(Data("mlbuild serve: listening on http://\(host):\(port)\n".utf8))
                logger.info("serving", metadata: [
                    "address": .string("http://\(host):\(port)"), "workers": .stringConvertible(options.workers),
                    "max_rows": .stringConvertible(options.maxRows), "max_body_bytes": .stringConvertible(options.maxBodyBytes),
                    "models": .array(registry.all.map { .dictionary(["name": .string($0.name), "digest": .string($0.digest)]) }),
                ])
            },
            eventLoopGroupProvider: .shared(eventLoops),
            logger: quietLogger
        )
        let reloader = ModelReloader(sources: sources, registry: registry, metrics: metrics, logger: logger)
        var configuration = ServiceGroupConfiguration(
            services: [
                .init(service: app),
                // Done once shutdown begins; the app then drains on its own.
                .init(service: reloader, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: quietLogger)
        // Past this, requests still in flight are cancelled (and the deadline exits soon after).
        let drainLimit = Duration.seconds(8)
        configuration.maximumGracefulShutdownDuration = drainLimit
        let group = ServiceGroup(configuration: configuration)
        do {
            try await group.run()
        } catch {
            logger.warning("shutdown", metadata: ["phase": "cancelled", "reason": .string("\(error)")])
        }
        if let drained = registry.drainingFor, drained >= drainLimit {
            // The group cancelled what was still in flight: say so, those clients got no answer.
            logger.warning("shutdown", metadata: ["phase": "cancelled", "reason": .string("requests still in flight after \(drainLimit) were cancelled")])
        }
        logger.info("shutdown", metadata: ["phase": "stopped"])
        LineWriter.standardError.flush()
        try? await scoring.shutdownGracefully()
        try? await eventLoops.shutdownGracefully()
    }

    /// Bodies up to this size (a few hundred rows) are scored on the task that read them: that
    /// takes well under a millisecond, less than handing the work to the scoring pool and back
    /// (two thread wake-ups), which is what a one-row request's latency was made of. Larger
    /// bodies go to the pool, so they never hold up the tasks that serve the other connections.
    static let inlineScoringBytes = 64 * 1024

    static func response(_ reply: ServeReply) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = reply.contentType
        return Response(
            status: status(reply.status),
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: reply.body)))
    }

    /// The standard reason phrase where there is one (`Status(code:)` alone sends none).
    static func status(_ code: Int) -> HTTPResponse.Status {
        switch code {
        case 200: .ok
        case 400: .badRequest
        case 404: .notFound
        case 405: .methodNotAllowed
        case 413: .contentTooLarge
        case 415: .unsupportedMediaType
        case 422: .unprocessableContent
        case 500: .internalServerError
        case 503: .serviceUnavailable
        default: HTTPResponse.Status(code: code)
        }
    }
}
