/// A `WWW-Authenticate` challenge from a registry: `Basic realm="…"` or
/// `Bearer realm="https://auth…/token",service="…",scope="repository:NAME:pull,push"`.
struct RegistryChallenge: Sendable, Equatable {
    /// Lowercased: `basic` or `bearer` (anything else is not supported).
    var scheme: String
    /// Parameter names lowercased, values unquoted.
    var parameters: [String: String]

    /// Parses the first challenge of a header value; nil when there is none.
    init?(header: String) {
        var rest = Substring(header).drop(while: \.isWhitespace)
        let scheme = rest.prefix(while: { !$0.isWhitespace && $0 != "," })
        guard !scheme.isEmpty else { return nil }
        self.scheme = scheme.lowercased()
        rest = rest.dropFirst(scheme.count)
        var parameters: [String: String] = [:]
        while true {
            rest = rest.drop(while: { $0.isWhitespace || $0 == "," })
            guard let equals = rest.firstIndex(of: "=") else { break }
            let name = rest[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            // A name with a space in it starts the next challenge: stop there.
            guard !name.isEmpty, !name.contains(" ") else { break }
            rest = rest[rest.index(after: equals)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                var escaped = false
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if escaped {
                        value.append(c)
                        escaped = false
                    } else if c == "\\" {
                        escaped = true
                    } else if c == "\"" {
                        break
                    } else {
                        value.append(c)
                    }
                }
            } else {
                let token = rest.prefix(while: { $0 != "," && !$0.isWhitespace })
                value = String(token)
                rest = rest.dropFirst(token.count)
            }
            parameters[name] = value
        }
        self.parameters = parameters
    }
}
