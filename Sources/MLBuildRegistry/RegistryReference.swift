import MLBuildBasics

/// Where to push: `[http(s)://]HOST[:PORT]/REPOSITORY[:TAG|@sha256:HEX]`.
///
/// The host is required (it must look like one: a dot, a port or `localhost`, as Docker decides),
/// so `churn/app:1.0` is refused rather than silently sent to Docker Hub; `docker.io/…` is mapped
/// to `registry-1.docker.io` (`library/` added to one-component names). No tag and no digest
/// means `latest`. Repository components follow the distribution spec's grammar (lowercase
/// alphanumerics separated by `.`, `_`, `__` or dashes); a tag is `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
public struct RegistryReference: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable {
        case http
        case https
    }

    /// `host[:port]` as requests address it.
    public let host: String
    public let repository: String
    /// Nil when the reference names a digest only.
    public let tag: String?
    public let digest: ContentDigest?
    /// The scheme written before the host, if any.
    public let explicitScheme: Scheme?

    public init(host: String, repository: String, tag: String?, digest: ContentDigest? = nil, explicitScheme: Scheme? = nil) {
        self.host = host
        self.repository = repository
        self.tag = tag
        self.digest = digest
        self.explicitScheme = explicitScheme
    }

    public init(parsing text: String) throws(RegistryError) {
        func invalid(_ why: String) -> RegistryError {
            RegistryError(.invalidReference, "invalid registry reference '\(text)': \(why) (expected HOST[:PORT]/REPOSITORY[:TAG], e.g. 127.0.0.1:5000/churn/app:1.0)")
        }
        var rest = Substring(text)
        var scheme: Scheme?
        for candidate in [Scheme.http, .https] where rest.lowercased().hasPrefix(candidate.rawValue + "://") {
            scheme = candidate
            rest = rest.dropFirst(candidate.rawValue.count + 3)
        }
        guard let slash = rest.firstIndex(of: "/") else { throw invalid("no repository after the host") }
        var host = String(rest[..<slash]).lowercased()
        var path = String(rest[rest.index(after: slash)...])
        guard host.contains(".") || host.contains(":") || host == "localhost" else {
            throw invalid("'\(host)' is not a registry host (write the registry first)")
        }
        guard Self.isValidHost(host) else { throw invalid("'\(host)' is not a valid HOST[:PORT]") }

        var tag: String?
        var digest: ContentDigest?
        if let at = path.firstIndex(of: "@") {
            let digestText = path[path.index(after: at)...]
            guard let parsed = ContentDigest(prefixed: digestText) else {
                throw invalid("'\(digestText)' is not a sha256:<64 hex digits> digest")
            }
            digest = parsed
            path = String(path[..<at])
        }
        if let colon = path.lastIndex(of: ":") {
            let tagText = String(path[path.index(after: colon)...])
            guard Self.isValidTag(tagText) else { throw invalid("'\(tagText)' is not a valid tag") }
            guard digest == nil else { throw invalid("give a tag or a digest, not both") }
            tag = tagText
            path = String(path[..<colon])
        }
        if host == "docker.io" || host == "index.docker.io" {
            host = "registry-1.docker.io"
            if !path.contains("/") { path = "library/" + path }
        }
        guard !path.isEmpty, path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy(Self.isValidComponent) else {
            throw invalid("'\(path)' is not a valid repository name (lowercase letters, digits and . _ - separators)")
        }
        guard path.count <= 255 else { throw invalid("the repository name is longer than 255 characters") }
        self.init(host: host, repository: path, tag: digest == nil ? (tag ?? "latest") : nil, digest: digest, explicitScheme: scheme)
    }

    /// What the manifest is PUT under: the tag, else the digest.
    public var manifestReference: String { tag ?? digest?.prefixed ?? "latest" }

    /// `host/repository:tag` or `host/repository@sha256:…` (no scheme).
    public var description: String {
        "\(host)/\(repository)" + (tag.map { ":\($0)" } ?? digest.map { "@\($0.prefixed)" } ?? "")
    }

    static func isValidHost(_ host: String) -> Bool {
        var name = Substring(host)
        if let colon = host.lastIndex(of: ":"), !host.hasSuffix("]") {
            let port = host[host.index(after: colon)...]
            guard let number = Int(port), (1...65535).contains(number), port.allSatisfy(\.isASCII) else { return false }
            name = host[..<colon]
        }
        if name.hasPrefix("[") && name.hasSuffix("]") {
            return name.count > 2 && name.dropFirst().dropLast().allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
        }
        return !name.isEmpty && name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "." || $0 == "-" }
            && !name.hasPrefix("-") && !name.hasPrefix(".")
    }

    static func isValidTag(_ tag: String) -> Bool {
        guard let first = tag.first, tag.count <= 128 else { return false }
        func word(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "_") }
        return word(first) && tag.allSatisfy { word($0) || $0 == "." || $0 == "-" }
    }

    /// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
    static func isValidComponent(_ component: Substring) -> Bool {
        func alnum(_ c: Character) -> Bool { c.isASCII && (c.isLowercase || c.isNumber) }
        guard let first = component.first, let last = component.last, alnum(first), alnum(last) else { return false }
        var separator = ""
        for c in component {
            if alnum(c) {
                guard separator.isEmpty || separator == "." || separator == "_" || separator == "__"
                    || separator.allSatisfy({ $0 == "-" })
                else { return false }
                separator = ""
            } else if c == "." || c == "_" || c == "-" {
                separator.append(c)
            } else {
                return false
            }
        }
        return true
    }
}
