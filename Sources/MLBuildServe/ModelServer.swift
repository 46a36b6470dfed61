import Foundation
import Hummingbird
import Logging
import MLBuildDatasets
import NIOCore

/// `mlbuild serve`'s HTTP server (Hummingbird 2, HTTP/1.1):
///
///     GET  /healthz                      200 {"status": "up"} while the process serves
///     GET  /readyz                       200 {"status": "ready", "models": N} (models load and
///                                        verify before the socket opens, so up means ready)
///     GET  /v1/models                    {"models": [ServedModel.summary, …]} sorted by name
///     POST /v1/models/NAME/predict       see PredictionEndpoint
///
/// Every error answers `{"error": …}` as JSON. Bodies above `maxBodyBytes` get 413 before any
/// parsing. Once bound, one line goes to standard error, `mlbuild serve: listening on
/// http://HOST:PORT`, with the real port (so `--port 0` is usable by tests and scripts).
/// SIGTERM and SIGINT stop the server gracefully (Hummingbird's ServiceGroup) and `run` returns.
public struct ModelServer: Sendable {
    public var endpoint: PredictionEndpoint
    public var host: String
    public var port: Int
    public var maxBodyBytes: Int

    public static let defaultMaxBodyBytes = 16 * 1024 * 1024

    public init(models: [ServedModel], host: String, port: Int, maxBodyBytes: Int = defaultMaxBodyBytes) {
        endpoint = PredictionEndpoint(models: models)
        self.host = host
        self.port = port
        self.maxBodyBytes = maxBodyBytes
    }

    public func run() async throws {
        let router = Router()
        let endpoint = endpoint
        let maxBodyBytes = maxBodyBytes
        router.get("/healthz") { _, _ in Self.response(.json(200, .object(["status": .string("up")]))) }
        router.get("/readyz") { _, _ in
            Self.response(.json(200, .object(["status": .string("ready"), "models": .number(endpoint.models.count)])))
        }
        router.get("/v1/models") { _, _ in
            let models = endpoint.models.keys.sorted().compactMap { endpoint.models[$0]?.summary }
            return Self.response(.json(200, .object(["models": .array(models)])))
        }
        router.post("/v1/models/:name/predict") { request, context in
            let name = context.parameters.get("name") ?? ""
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: maxBodyBytes)
            } catch is NIOTooManyBytesError {
                return Self.response(.error(413, "the request body is larger than \(maxBodyBytes) bytes (--max-body-bytes)"))
            }
            let contentType = request.headers[.contentType]
            // Scoring is CPU work; it runs on the task's executor, not on an event loop.
            let reply = endpoint.predict(model: name, contentType: contentType, body: Array(buffer: body))
            return Self.response(reply)
        }
        var logger = Logger(label: "mlbuild.serve")
        // Hummingbird's own start/stop lines would duplicate ours; access logs are issue 9's later part.
        logger.logLevel = .warning
        let host = host
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "mlbuild"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                FileHandle.standardError.write(Data("mlbuild serve: listening on http://\(host):\(port)\n".utf8))
            },
            logger: logger
        )
        try await app.runService()
    }

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
        case 413: .contentTooLarge
        case 415: .unsupportedMediaType
        case 422: .unprocessableContent
        case 500: .internalServerError
        default: HTTPResponse.Status(code: code)
        }
    }
}
