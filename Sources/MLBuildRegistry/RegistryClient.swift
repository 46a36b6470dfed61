import Foundation
import MLBuildBasics
import MLBuildCache
import MLBuildCore

/// The OCI distribution API calls a push needs, against one registry: the `/v2/` ping, blob
/// existence (HEAD), blob uploads (POST, then one PUT, or PATCH chunks with `Content-Range` and
/// a closing PUT), manifest PUT and GET. Every digest the registry answers
/// (`Docker-Content-Digest`) is compared with the content's own.
///
/// Authentication follows the registry's `WWW-Authenticate` challenge: `Basic` sends the
/// credentials; `Bearer` fetches a token from the challenge's realm (with the credentials, if
/// any) for the repository's `pull,push` scope and keeps it per scope; a `bearer:TOKEN`
/// credential is sent as is. A 401 is answered once (a new challenge, an expired token); a
/// second 401 is an error naming the registry and the credentials' source, never their value.
/// Credentials go only to the registry's own origin (an upload `Location` elsewhere gets none).
///
/// An actor: the token cache is its state; requests run concurrently between its suspension points.
public actor RegistryClient {
    /// `host[:port]`.
    public nonisolated let host: String
    public nonisolated let baseURL: URL
    private let credentials: RegistryCredentials?
    private let allowHTTP: Bool
    private let http: any RegistryHTTP
    private let masker: SecretMasker
    private var challenge: RegistryChallenge?
    /// scope → the Authorization header for it.
    private var tokens: [String: RemoteCacheHeader] = [:]

    public init(host: String, scheme: RegistryReference.Scheme, credentials: RegistryCredentials?, http: any RegistryHTTP) throws(RegistryError) {
        guard let url = URL(string: "\(scheme.rawValue)://\(host)") else {
            throw RegistryError(.invalidReference, "invalid registry host '\(host)'")
        }
        self.host = host
        baseURL = url
        self.credentials = credentials
        allowHTTP = scheme == .http
        self.http = http
        masker = SecretMasker(credentials?.secrets ?? [], replacement: "<redacted>")
    }

    /// The scope a push to `repository` needs.
    static func scope(_ repository: String) -> String { "repository:\(repository):pull,push" }

    private var registryName: String { "registry \(baseURL.absoluteString)" }

    // MARK: - API

    /// `GET /v2/`, authenticated for pushing to `repository`: fails early (unreachable, not a
    /// registry, credentials missing or refused) before anything is uploaded.
    public func checkAccess(repository: String) async throws {
        let response = try await exchange(CurlHTTPRequest(method: "GET", url: url("/v2/")), scope: Self.scope(repository), what: "GET /v2/")
        guard response.status == 200 else {
            throw unexpected(response, "GET /v2/", expecting: "200 (is this an OCI registry?)")
        }
    }

    /// Whether the repository has blob `digest` (HEAD).
    public func blobExists(repository: String, digest: ContentDigest) async throws -> Bool {
        let what = "HEAD blob \(digest.prefixed)"
        let response = try await exchange(
            CurlHTTPRequest(method: "HEAD", url: url("/v2/\(repository)/blobs/\(digest.prefixed)")), scope: Self.scope(repository), what: what)
        switch response.status {
        case 200:
            try checkDigest(response, expected: digest, what: what)
            return true
        case 404: return false
        default: throw unexpected(response, what, expecting: "200 or 404")
        }
    }

    /// Where blob bytes come from.
    public enum BlobSource: Sendable {
        case data(Data)
        /// A (verified) blob file, streamed; uploaded in chunks when larger than the chunk size.
        case file(URL)
    }

    /// Uploads one blob: POST opens the upload; a body of at most `chunkSize` bytes goes in the
    /// closing `PUT ?digest=`, a larger file in PATCH chunks of `chunkSize` first. The registry
    /// checks the digest itself (400 DIGEST_INVALID) and answers it back; both are checked.
    /// Returns the number of chunks sent (1 for a monolithic upload).
    @discardableResult
    public func uploadBlob(repository: String, digest: ContentDigest, size: Int64, source: BlobSource, chunkSize: Int64) async throws -> Int {
        let scope = Self.scope(repository)
        let what = "upload of blob \(digest.prefixed)"
        let opened = try await exchange(CurlHTTPRequest(method: "POST", url: url("/v2/\(repository)/blobs/uploads/"), body: Data(),
                                                        contentType: "application/octet-stream"), scope: scope, what: what)
        guard opened.status == 202 else { throw unexpected(opened, what, expecting: "202 Accepted") }
        var location = try uploadLocation(opened, what: what)
        var chunks = 0
        var finalBody: (data: Data?, file: CurlHTTPRequest.FileBody?) = (nil, nil)
        switch source {
        case .data(let data):
            finalBody.data = data
            chunks = 1
        case .file(let file):
            if size <= chunkSize {
                finalBody.file = CurlHTTPRequest.FileBody(url: file, offset: 0, length: size)
                chunks = 1
            } else {
                var offset: Int64 = 0
                while offset < size {
                    let length = min(chunkSize, size - offset)
                    let last = offset + length - 1
                    let patch = CurlHTTPRequest(
                        method: "PATCH", url: location, contentType: "application/octet-stream",
                        headers: [("Content-Range", "\(offset)-\(last)")],
                        file: CurlHTTPRequest.FileBody(url: file, offset: offset, length: length))
                    let answer = try await exchange(patch, scope: scope, what: "\(what) (chunk at byte \(offset))", authorize: isOwnOrigin(location))
                    guard answer.status == 202 else { throw unexpected(answer, "\(what) (chunk at byte \(offset))", expecting: "202 Accepted") }
                    if let range = answer.header("Range"), range != "0-\(last)", range != "bytes=0-\(last)" {
                        throw RegistryError(.rejected, "\(registryName): \(what): after the chunk at byte \(offset) the registry holds range \(range), expected 0-\(last)")
                    }
                    location = try uploadLocation(answer, what: what)
                    offset += length
                    chunks += 1
                }
            }
        }
        let close = CurlHTTPRequest(method: "PUT", url: try appendingDigest(digest, to: location), body: finalBody.data ?? Data(),
                                    contentType: "application/octet-stream", file: finalBody.file)
        let closed = try await exchange(close, scope: scope, what: what, authorize: isOwnOrigin(location))
        guard closed.status == 201 else {
            if closed.status == 400, Self.errorCodes(closed.body).contains("DIGEST_INVALID") {
                throw RegistryError(.digestMismatch, "\(registryName) rejected blob \(digest.prefixed) of \(repository): the bytes it received do not have that digest (DIGEST_INVALID)")
            }
            throw unexpected(closed, what, expecting: "201 Created")
        }
        try checkDigest(closed, expected: digest, what: what)
        return chunks
    }

    /// The answer to a manifest PUT.
    public struct ManifestPut: Sendable, Equatable {
        public var digest: ContentDigest
        /// The `OCI-Subject` header: the registry indexed the manifest's `subject` (referrers API).
        public var subject: String?
    }

    /// PUTs manifest `bytes` exactly as given, under `reference` (a tag or `sha256:…`).
    public func putManifest(repository: String, reference: String, bytes: Data, mediaType: String) async throws -> ManifestPut {
        let digest = ContentDigest.of(bytes)
        let what = "PUT manifest \(digest.prefixed) as \(repository):\(reference)"
        let response = try await exchange(
            CurlHTTPRequest(method: "PUT", url: url("/v2/\(repository)/manifests/\(reference)"), body: bytes, contentType: mediaType),
            scope: Self.scope(repository), what: what)
        guard (200...299).contains(response.status) else { throw unexpected(response, what, expecting: "201 Created") }
        try checkDigest(response, expected: digest, what: what)
        return ManifestPut(digest: digest, subject: response.header("OCI-Subject"))
    }

    /// GETs a manifest (nil on 404); `accept`: the media types asked for.
    public func manifest(repository: String, reference: String, accept: [String]) async throws -> Data? {
        let what = "GET manifest \(repository):\(reference)"
        let response = try await exchange(
            CurlHTTPRequest(method: "GET", url: url("/v2/\(repository)/manifests/\(reference)"), headers: [("Accept", accept.joined(separator: ", "))]),
            scope: Self.scope(repository), what: what)
        switch response.status {
        case 200:
            try checkDigest(response, expected: ContentDigest.of(response.body), what: what)
            return response.body
        case 404: return nil
        default: throw unexpected(response, what, expecting: "200 or 404")
        }
    }

    // MARK: - Exchanges and authentication

    private func url(_ path: String) -> URL {
        // Paths are built from validated names, digests and tags: always a valid URL.
        URL(string: path, relativeTo: baseURL)?.absoluteURL ?? baseURL
    }

    private func isOwnOrigin(_ url: URL) -> Bool {
        url.scheme?.lowercased() == baseURL.scheme?.lowercased() && url.host?.lowercased() == baseURL.host?.lowercased() && url.port == baseURL.port
    }

    /// One request, authorized for `scope` (when `authorize`); a 401 with a challenge is
    /// answered once.
    private func exchange(_ request: CurlHTTPRequest, scope: String, what: String, authorize: Bool = true) async throws -> CurlHTTPResponse {
        var request = request
        if authorize { request.secretHeader = try await authorization(scope: scope) }
        var response = try await send(request, what: what)
        if authorize, response.status == 401, let header = response.header("WWW-Authenticate"), let parsed = RegistryChallenge(header: header) {
            challenge = parsed
            tokens[scope] = nil
            request.secretHeader = try await authorization(scope: scope)
            guard request.secretHeader != nil else {
                throw RegistryError(.unauthorized, "\(registryName) requires authentication (\(parsed.scheme)); set \(RegistryCredentials.environmentVariable)=USER:PASSWORD or add the registry to the docker config.json auths")
            }
            response = try await send(request, what: what)
        }
        if response.status == 401 || response.status == 403 {
            let who = credentials.map { "refused \($0)" } ?? "requires authentication; set \(RegistryCredentials.environmentVariable)=USER:PASSWORD or add the registry to the docker config.json auths"
            throw RegistryError(.unauthorized, "\(registryName) \(who): \(what) answered \(response.status)\(detail(response.body))")
        }
        return response
    }

    private func send(_ request: CurlHTTPRequest, what: String) async throws -> CurlHTTPResponse {
        do {
            return try await http.send(request)
        } catch let error as CurlHTTPError {
            var message = "cannot reach \(registryName): \(what): \(masker.mask(error.description))"
            let text = error.description.lowercased()
            if baseURL.scheme == "https", text.contains("ssl") || text.contains("tls") || text.contains("wrong version") {
                message += " (a plain-HTTP registry needs --insecure)"
            }
            throw RegistryError(.unreachable, message)
        }
    }

    /// The Authorization header for `scope`, nil when none is needed (yet).
    private func authorization(scope: String) async throws -> RemoteCacheHeader? {
        if case .bearer(let token)? = credentials?.secret {
            return RemoteCacheHeader(name: "Authorization", value: "Bearer \(token)")
        }
        guard let challenge else { return nil }
        switch challenge.scheme {
        case "basic":
            guard case .basic(let username, let password)? = credentials?.secret else { return nil }
            return RemoteCacheHeader(name: "Authorization", value: "Basic \(RegistryCredentials.basicValue(username: username, password: password))")
        case "bearer":
            if let cached = tokens[scope] { return cached }
            let header = try await fetchToken(challenge, scope: scope)
            tokens[scope] = header
            return header
        default:
            throw RegistryError(.unauthorized, "\(registryName) asks for '\(challenge.scheme)' authentication, which mlbuild does not speak (Basic and Bearer only)")
        }
    }

    /// A token from the challenge's realm (Docker's token protocol), with basic credentials if any.
    private func fetchToken(_ challenge: RegistryChallenge, scope: String) async throws -> RemoteCacheHeader {
        guard let realm = challenge.parameters["realm"], var components = URLComponents(string: realm),
              let scheme = components.scheme?.lowercased(), scheme == "https" || (scheme == "http" && allowHTTP)
        else {
            throw RegistryError(.unauthorized, "\(registryName): its bearer challenge has no usable realm (an https URL; http only with --insecure)")
        }
        var items = components.queryItems ?? []
        if let service = challenge.parameters["service"] { items.append(URLQueryItem(name: "service", value: service)) }
        items.append(URLQueryItem(name: "scope", value: scope))
        components.queryItems = items
        guard let url = components.url else { throw RegistryError(.unauthorized, "\(registryName): invalid token realm") }
        var request = CurlHTTPRequest(method: "GET", url: url)
        if case .basic(let username, let password)? = credentials?.secret {
            request.secretHeader = RemoteCacheHeader(name: "Authorization", value: "Basic \(RegistryCredentials.basicValue(username: username, password: password))")
        }
        let what = "token request to \(CurlHTTPClient.display(url))"
        let response = try await send(request, what: what)
        guard response.status == 200 else {
            let who = credentials.map { "refused \($0)" } ?? "gave no token without credentials"
            throw RegistryError(.unauthorized, "\(registryName): the token service \(who): \(what) answered \(response.status)\(detail(response.body))")
        }
        let object = (try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]
        guard let token = (object?["token"] as? String) ?? (object?["access_token"] as? String), !token.isEmpty else {
            throw RegistryError(.unauthorized, "\(registryName): the token service's answer has no token")
        }
        return RemoteCacheHeader(name: "Authorization", value: "Bearer \(token)")
    }

    // MARK: - Answers

    private func uploadLocation(_ response: CurlHTTPResponse, what: String) throws -> URL {
        guard let location = response.header("Location"), let url = URL(string: location, relativeTo: baseURL)?.absoluteURL,
              let scheme = url.scheme?.lowercased(), scheme == "https" || (scheme == "http" && allowHTTP)
        else {
            throw RegistryError(.rejected, "\(registryName): \(what): the answer has no usable Location for the upload")
        }
        return url
    }

    private func appendingDigest(_ digest: ContentDigest, to location: URL) throws -> URL {
        guard var components = URLComponents(url: location, resolvingAgainstBaseURL: true) else {
            throw RegistryError(.rejected, "\(registryName): invalid upload location")
        }
        let digestItem = "digest=" + digest.prefixed.replacingOccurrences(of: ":", with: "%3A")
        components.percentEncodedQuery = components.percentEncodedQuery.map { $0.isEmpty ? digestItem : $0 + "&" + digestItem } ?? digestItem
        guard let url = components.url else { throw RegistryError(.rejected, "\(registryName): invalid upload location") }
        return url
    }

    private func checkDigest(_ response: CurlHTTPResponse, expected: ContentDigest, what: String) throws {
        guard let answered = response.header("Docker-Content-Digest"), !answered.isEmpty else { return }
        guard ContentDigest(prefixed: answered) == expected else {
            throw RegistryError(.digestMismatch, "\(registryName): \(what): the registry answered digest \(masker.mask(answered)), the content is \(expected.prefixed)")
        }
    }

    private func unexpected(_ response: CurlHTTPResponse, _ what: String, expecting: String) -> RegistryError {
        RegistryError(.rejected, "\(registryName): \(what) answered \(response.status), expected \(expecting)\(detail(response.body))")
    }

    /// `: CODE: message` from a distribution error body, masked and cut short.
    private func detail(_ body: Data) -> String {
        guard let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
              let errors = object["errors"] as? [[String: Any]], !errors.isEmpty
        else { return "" }
        let text = errors.prefix(3).map { error in
            [error["code"] as? String, error["message"] as? String].compactMap { $0 }.joined(separator: ": ")
        }.joined(separator: "; ")
        return text.isEmpty ? "" : ": " + masker.mask(String(text.prefix(300)))
    }

    static func errorCodes(_ body: Data) -> [String] {
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        return ((object?["errors"] as? [[String: Any]]) ?? []).compactMap { $0["code"] as? String }
    }
}
