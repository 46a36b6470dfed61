/// The routes `mlbuild serve` answers, for the 405 answer (`Allow`) and the 404 message.
enum ServeRoutes {
    static let table: [(pattern: [String], methods: [String])] = [
        (["healthz"], ["GET"]),
        (["readyz"], ["GET"]),
        (["metrics"], ["GET"]),
        (["v1", "models"], ["GET"]),
        (["v1", "models", "*", "predict"], ["POST"]),
    ]

    static let summary = "GET /healthz, GET /readyz, GET /metrics, GET /v1/models, POST /v1/models/NAME/predict"

    /// The methods allowed on `path` when it is one of the routes, else nil.
    static func allowedMethods(path: String) -> [String]? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        for route in table where route.pattern.count == parts.count {
            if zip(route.pattern, parts).allSatisfy({ $0 == "*" || $0 == $1 }) { return route.methods }
        }
        return nil
    }
}
