import Foundation

/// Credentials for one registry, and where they came from (named in errors; the secret never is).
///
/// Looked up in this order:
/// 1. `MLBUILD_REGISTRY_AUTH`: `USER:PASSWORD` (HTTP basic, or exchanged for a bearer token when
///    the registry asks for one) or `bearer:TOKEN` (a token sent as is). Applies to whatever
///    registry is pushed to.
/// 2. Docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
///    `auths[HOST].auth` (base64 of `user:password`) or `auths[HOST].username`/`password`; keys
///    may carry a scheme or path (`https://HOST/v1/`). Credential helpers are not run.
public struct RegistryCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public enum Secret: Sendable, Equatable {
        case basic(username: String, password: String)
        case bearer(token: String)
    }

    public let secret: Secret
    /// `MLBUILD_REGISTRY_AUTH` or the config.json path.
    public let source: String

    public init(secret: Secret, source: String) {
        self.secret = secret
        self.source = source
    }

    public static let environmentVariable = "MLBUILD_REGISTRY_AUTH"

    /// The user name, when there is one (safe to show).
    public var username: String? {
        if case .basic(let username, _) = secret { return username }
        return nil
    }

    /// Every string that must never be shown: password, token and the basic header's base64.
    public var secrets: [String] {
        switch secret {
        case .basic(let username, let password):
            return [password, Self.basicValue(username: username, password: password)]
        case .bearer(let token):
            return [token]
        }
    }

    public var description: String {
        switch secret {
        case .basic(let username, _): return "user '\(username)' (from \(source))"
        case .bearer: return "a bearer token (from \(source))"
        }
    }

    public var debugDescription: String { "RegistryCredentials(\(description))" }
    public var customMirror: Mirror { Mirror(self, children: ["source": source], displayStyle: .struct) }

    static func basicValue(username: String, password: String) -> String {
        Data("\(username):\(password)".utf8).base64EncodedString()
    }

    /// The credentials for `host` (`host[:port]`), or nil when none are configured.
    public static func resolve(host: String, environment: [String: String]) throws(RegistryError) -> RegistryCredentials? {
        if let value = environment[environmentVariable], !value.isEmpty {
            return try parse(environmentValue: value)
        }
        guard let path = configPath(environment: environment), FileManager.default.fileExists(atPath: path) else { return nil }
        return try fromDockerConfig(path: path, host: host)
    }

    static func parse(environmentValue value: String) throws(RegistryError) -> RegistryCredentials {
        guard let colon = value.firstIndex(of: ":") else {
            throw RegistryError(.credentials, "\(environmentVariable) must be USER:PASSWORD or bearer:TOKEN (it has no ':')")
        }
        let head = String(value[..<colon])
        let tail = String(value[value.index(after: colon)...])
        if head == "bearer" {
            guard !tail.isEmpty else { throw RegistryError(.credentials, "\(environmentVariable): bearer:TOKEN with an empty token") }
            return RegistryCredentials(secret: .bearer(token: tail), source: environmentVariable)
        }
        guard !head.isEmpty else { throw RegistryError(.credentials, "\(environmentVariable): USER:PASSWORD with an empty user name") }
        return RegistryCredentials(secret: .basic(username: head, password: tail), source: environmentVariable)
    }

    static func configPath(environment: [String: String]) -> String? {
        if let directory = environment["DOCKER_CONFIG"], !directory.isEmpty { return directory + "/config.json" }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.docker/config.json" }
        return nil
    }

    /// `auths` keys name a registry as `host`, `https://host` or `https://host/v1/`.
    static func normalizedKey(_ key: String) -> String {
        var text = Substring(key.lowercased())
        if let scheme = text.range(of: "://") { text = text[scheme.upperBound...] }
        if let slash = text.firstIndex(of: "/") { text = text[..<slash] }
        return String(text)
    }

    static func fromDockerConfig(path: String, host: String) throws(RegistryError) -> RegistryCredentials? {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw RegistryError(.credentials, "cannot read the docker config \(path): it is not valid JSON")
        }
        guard let auths = (object as? [String: Any])?["auths"] as? [String: Any] else { return nil }
        // Docker Hub's credentials are stored under its index name.
        let wanted: Set<String> = host == "registry-1.docker.io" ? ["registry-1.docker.io", "index.docker.io", "docker.io"] : [host.lowercased()]
        for key in auths.keys.sorted() where wanted.contains(normalizedKey(key)) {
            guard let entry = auths[key] as? [String: Any] else { continue }
            if let encoded = entry["auth"] as? String, !encoded.isEmpty {
                guard let decoded = Data(base64Encoded: encoded).flatMap({ String(data: $0, encoding: .utf8) }),
                      let colon = decoded.firstIndex(of: ":")
                else {
                    throw RegistryError(.credentials, "the docker config \(path): auths[\"\(key)\"].auth is not base64 of USER:PASSWORD")
                }
                return RegistryCredentials(
                    secret: .basic(username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...])),
                    source: path)
            }
            if let username = entry["username"] as? String, let password = entry["password"] as? String {
                return RegistryCredentials(secret: .basic(username: username, password: password), source: path)
            }
        }
        return nil
    }
}
