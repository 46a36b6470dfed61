/// Where a Remote Execution API server listens: `grpc://HOST:PORT` (plaintext, for loopback and
/// trusted networks) or `grpcs://HOST:PORT` (TLS, the system's trust roots).
public struct REAPIEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var usesTLS: Bool

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    /// Whether `text` names a gRPC endpoint at all (else it is the HTTP cache's URL).
    public static func isGRPC(_ text: String) -> Bool {
        let lower = text.lowercased()
        return lower.hasPrefix("grpc://") || lower.hasPrefix("grpcs://")
    }

    public init(host: String, port: Int, usesTLS: Bool) {
        self.host = host
        self.port = port
        self.usesTLS = usesTLS
    }

    /// Parses `grpc://HOST:PORT` or `grpcs://HOST:PORT` (a trailing "/" allowed; IPv6 hosts in
    /// brackets). The port is required: REAPI servers have no conventional one.
    public init(parsing text: String) throws {
        let lower = text.lowercased()
        let tls = lower.hasPrefix("grpcs://")
        guard tls || lower.hasPrefix("grpc://") else {
            throw Invalid(description: "'\(text)' is not a grpc:// or grpcs:// address")
        }
        var rest = Substring(text.dropFirst(tls ? 8 : 7))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/"), !rest.contains("@"), !rest.contains("?") else {
            throw Invalid(description: "'\(text)': expected grpc://HOST:PORT, without a path, user or query (use --remote-instance for an instance name)")
        }
        let host: Substring, portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]"), rest[rest.index(after: close)...].hasPrefix(":") else {
                throw Invalid(description: "'\(text)': expected grpc://[IPV6]:PORT")
            }
            host = rest[rest.index(after: rest.startIndex) ..< close]
            portText = rest[rest.index(close, offsetBy: 2)...]
        } else {
            guard let colon = rest.lastIndex(of: ":") else {
                throw Invalid(description: "'\(text)': the port is missing (grpc://HOST:PORT)")
            }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard !host.isEmpty else { throw Invalid(description: "'\(text)': the host is missing (grpc://HOST:PORT)") }
        guard let port = Int(portText), (1 ... 65535).contains(port) else {
            throw Invalid(description: "'\(text)': '\(portText)' is not a port (1 to 65535)")
        }
        self.init(host: String(host), port: port, usesTLS: tls)
    }

    public var description: String {
        "\(usesTLS ? "grpcs" : "grpc")://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }

    /// The address as buildbox's tools take it (`http://` for plaintext gRPC, `https://` for TLS).
    public var plainURL: String {
        "\(usesTLS ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)"
    }
}
