import MLBuildDatasets

/// An answer of the model server before it meets HTTP: the status, the media type and the bytes.
/// Kept apart from Hummingbird's `Response` so the scoring side is tested without a socket.
public struct ServeReply: Sendable, Equatable {
    public var status: Int
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    public static func json(_ status: Int, _ value: JSONValue) -> ServeReply {
        ServeReply(status: status, contentType: "application/json", body: Array(CanonicalJSON.serialize(value)))
    }

    /// `{"error": message}` plus any `extra` members: every failure answers in this shape.
    public static func error(_ status: Int, _ message: String, _ extra: [String: JSONValue] = [:]) -> ServeReply {
        var object = extra
        object["error"] = .string(message)
        return json(status, .object(object))
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}
