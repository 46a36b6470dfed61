import Hummingbird
import Logging
import MLBuildDatasets

/// Wraps every request: gives it an id (the client's `X-Request-Id` when it is a sane one, else
/// a new random one; echoed on the response), turns every error into a JSON answer (404 unknown
/// route, 405 a known route with another method, the status of any other HTTP error, 500 for
/// the rest), counts it in the metrics and writes its access-log line:
///
///     {"event": "request", "level": "info", "time", "method", "path", "status", "rows",
///      "latency_ms", "request_id", "model"}
///
/// `model` is the served model's name on the predict route ("" elsewhere), `rows` the rows
/// scored, `latency_ms` from receipt to the answer (before its body is written).
struct AccessLogMiddleware: RouterMiddleware {
    typealias Context = ServeRequestContext

    let logger: Logger
    let metrics: ServeMetrics

    // HTTPFields.Element is HTTPTypes' HTTPField (Hummingbird re-exports the collection, not the field).
    static let requestIDField = HTTPFields.Element.Name("X-Request-Id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let id = Self.requestID(request.headers[Self.requestIDField])
        metrics.requestStarted()
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            if error.status == .notFound, let allowed = ServeRoutes.allowedMethods(path: request.uri.path) {
                response = ModelServer.response(.error(405, "\(request.method.rawValue) is not allowed on \(request.uri.path) (allowed: \(allowed.joined(separator: ", ")))"))
                response.headers[.allow] = allowed.joined(separator: ", ")
            } else if error.status == .notFound {
                response = ModelServer.response(.error(404, "no route for \(request.method.rawValue) \(request.uri.path) (routes: \(ServeRoutes.summary))"))
            } else {
                response = ModelServer.response(.error(Int(error.status.code), "\(error)"))
            }
        } catch {
            response = ModelServer.response(.error(500, "internal error: \(error)"))
        }
        let elapsed = ContinuousClock.now - start
        response.headers[Self.requestIDField] = id
        let outcome = context.outcome.value
        let code = Int(response.status.code)
        metrics.requestFinished(model: outcome.model, code: code, rows: outcome.rows, duration: elapsed, predict: outcome.predict)
        let (seconds, attoseconds) = elapsed.components
        let milliseconds = ((Double(seconds) * 1000 + Double(attoseconds) / 1e15) * 1000).rounded() / 1000
        logger.info("request", metadata: [
            "method": .string(request.method.rawValue),
            "path": .string(request.uri.path),
            "status": .stringConvertible(code),
            "rows": .stringConvertible(outcome.rows),
            "latency_ms": .stringConvertible(milliseconds),
            "request_id": .string(id),
            "model": .string(outcome.model),
        ])
        return response
    }

    /// The client's id when it is 1 to 128 visible ASCII characters (it goes into logs and a
    /// response header unchanged); otherwise 32 random hex digits.
    static func requestID(_ given: String?) -> String {
        if let given, (1 ... 128).contains(given.utf8.count), given.utf8.allSatisfy({ (0x21 ... 0x7E).contains($0) }) {
            return given
        }
        var generator = SystemRandomNumberGenerator()
        return (0 ..< 2).map { _ in
            let hex = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }
}
