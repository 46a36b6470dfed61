import Foundation
import MLBuildCache

/// A client of MLflow's tracking REST API (`<url>/api/2.0/mlflow/…`) and of its artifact proxy
/// (`<url>/api/2.0/mlflow-artifacts/artifacts/…`), over `CurlHTTPClient` (libcurl): bounded connect
/// and request timeouts, no retries, redirects not followed. Only the calls the export needs.
public struct MLflowClient: Sendable {
    /// The tracking URL without userinfo (credentials in the URL become the Basic header).
    public let baseURL: URL
    /// `baseURL` as messages show it.
    public let displayURL: String
    private let http: CurlHTTPClient

    /// `url`: `http(s)://host[:port][/prefix]`. Credentials: `MLflowCredentials` from
    /// `environment`, else the URL's `user:password@`.
    public init(url: String, environment: [String: String], connectTimeout: Double = 3, requestTimeout: Double = 30) throws {
        guard var components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty
        else {
            throw MLflowError.invalidURL("invalid MLflow tracking URL '\(Self.redacted(url))' (expected http://HOST[:PORT])")
        }
        var header = MLflowCredentials.header(environment: environment)
        if let user = components.percentEncodedUser {
            let password = components.percentEncodedPassword ?? ""
            if header == nil {
                let plain = "\(user.removingPercentEncoding ?? user):\(password.removingPercentEncoding ?? password)"
                header = RemoteCacheHeader(name: "Authorization", value: "Basic \(Data(plain.utf8).base64EncodedString())")
            }
            components.user = nil
            components.password = nil
        }
        components.query = nil
        components.fragment = nil
        while components.path.hasSuffix("/") { components.path.removeLast() }
        guard let base = components.url else {
            throw MLflowError.invalidURL("invalid MLflow tracking URL '\(Self.redacted(url))'")
        }
        baseURL = base
        displayURL = CurlHTTPClient.display(base)
        http = CurlHTTPClient(secretHeader: header, connectTimeout: connectTimeout, requestTimeout: requestTimeout)
    }

    /// `url` with any `user:password@` removed: for messages about a URL that may not parse.
    public static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return url }
        return String(url[..<schemeEnd.upperBound]) + String(rest[rest.index(after: at)...])
    }

    // MARK: Tracking API

    /// The id of the experiment named `name`, created when missing.
    public func experimentID(named name: String) async throws -> String {
        if let id = try await existingExperiment(named: name) { return id }
        let path = "experiments/create"
        let answer: ExperimentAnswer
        do {
            answer = try await post(path, CreateExperimentRequest(name: name))
        } catch let error as MLflowError {
            // Created meanwhile by another export (RESOURCE_ALREADY_EXISTS)?
            guard case .http = error, let id = try await existingExperiment(named: name) else { throw error }
            return id
        }
        guard let id = answer.experiment_id, !id.isEmpty else {
            throw MLflowError.invalidResponse(endpoint: endpoint(path), reason: "no experiment_id")
        }
        return id
    }

    private func existingExperiment(named name: String) async throws -> String? {
        var query = URLComponents()
        query.queryItems = [URLQueryItem(name: "experiment_name", value: name)]
        // A `+` would read as a space in a query.
        let path = "experiments/get-by-name?" + (query.percentEncodedQuery ?? "").replacingOccurrences(of: "+", with: "%2B")
        do {
            let answer: ExperimentAnswer = try await get(path)
            guard let id = answer.experiment?.experiment_id, !id.isEmpty else {
                throw MLflowError.invalidResponse(endpoint: endpoint("experiments/get-by-name"), reason: "no experiment id")
            }
            return id
        } catch MLflowError.http(_, 404, _) {
            return nil
        }
    }

    /// A new run; its id and artifact URI.
    func createRun(_ request: CreateRunRequest) async throws -> (id: String, artifactURI: String?) {
        let answer: RunAnswer = try await post("runs/create", request)
        guard let id = answer.run?.info?.id, !id.isEmpty else {
            throw MLflowError.invalidResponse(endpoint: endpoint("runs/create"), reason: "no run id")
        }
        return (id, answer.run?.info?.artifact_uri)
    }

    /// Runs of `experimentID` matching `filter` (MLflow's search syntax).
    func searchRuns(experimentID: String, filter: String) async throws -> [RunInfoAnswer] {
        let answer: SearchRunsAnswer = try await post(
            "runs/search", SearchRunsRequest(experiment_ids: [experimentID], filter: filter, max_results: 10))
        return (answer.runs ?? []).compactMap(\.info)
    }

    /// Logs params, metrics and tags in as many `runs/log-batch` calls as MLflow's limits need
    /// (≤ 100 params, ≤ 100 tags and ≤ 1000 entities in all per call).
    func logBatch(runID: String, params: [MLflowKeyValue], metrics: [MLflowMetric], tags: [MLflowKeyValue]) async throws {
        for batch in Self.batches(runID: runID, params: params, metrics: metrics, tags: tags) {
            let _: EmptyAnswer = try await post("runs/log-batch", batch)
        }
    }

    /// The `runs/log-batch` requests for these values: at most 100 params, 100 tags and 800
    /// metrics each (1,000 values in all), in order; one request even when there is nothing.
    static func batches(runID: String, params: [MLflowKeyValue], metrics: [MLflowMetric], tags: [MLflowKeyValue]) -> [LogBatchRequest] {
        var params = params[...], metrics = metrics[...], tags = tags[...]
        var out: [LogBatchRequest] = []
        repeat {
            out.append(LogBatchRequest(run_id: runID, params: Array(params.prefix(100)), metrics: Array(metrics.prefix(800)),
                                       tags: Array(tags.prefix(100))))
            params = params.dropFirst(100)
            metrics = metrics.dropFirst(800)
            tags = tags.dropFirst(100)
        } while !params.isEmpty || !metrics.isEmpty || !tags.isEmpty
        return out
    }

    func updateRun(_ request: UpdateRunRequest) async throws {
        let _: EmptyAnswer = try await post("runs/update", request)
    }

    // MARK: Artifacts

    /// The artifact proxy URL for `path` under a run's `mlflow-artifacts:/…` URI; nil for any
    /// other URI (a server-local path, a cloud store: nothing we can upload to).
    func artifactURL(artifactURI: String, path: String) -> URL? {
        guard artifactURI.hasPrefix("mlflow-artifacts:") else { return nil }
        var rest = Substring(artifactURI.dropFirst("mlflow-artifacts:".count))
        if rest.hasPrefix("//") {
            // mlflow-artifacts://host:port/… names the server: the path is what follows.
            rest = rest.dropFirst(2)
            guard let slash = rest.firstIndex(of: "/") else { return nil }
            rest = rest[slash...]
        }
        let parts = (rest.split(separator: "/") + path.split(separator: "/")).map(String.init)
        guard !parts.isEmpty, !parts.contains(where: { $0 == ".." || $0 == "." }) else { return nil }
        var url = baseURL.appendingPathComponent("api/2.0/mlflow-artifacts/artifacts")
        for part in parts { url.appendPathComponent(part) }
        return url
    }

    /// PUTs `data` to the artifact proxy.
    func upload(_ data: Data, to url: URL) async throws {
        let shown = "PUT " + url.path
        let response = try await exchange(CurlHTTPRequest(method: "PUT", url: url, body: data, contentType: "application/octet-stream"),
                                          endpoint: shown)
        guard (200...299).contains(response.status) else {
            throw MLflowError.http(endpoint: shown, status: response.status, message: Self.errorMessage(response.body))
        }
    }

    // MARK: Exchanges

    private func endpoint(_ path: String) -> String {
        let bare = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
        return "/api/2.0/mlflow/\(bare)"
    }

    private func get<Answer: Decodable>(_ path: String) async throws -> Answer {
        guard let url = URL(string: "\(baseURL.absoluteString)/api/2.0/mlflow/\(path)") else {
            throw MLflowError.invalidURL("cannot form the URL of \(endpoint(path))")
        }
        return try await call(CurlHTTPRequest(method: "GET", url: url), endpoint: endpoint(path))
    }

    private func post<Answer: Decodable>(_ path: String, _ body: some Encodable) async throws -> Answer {
        let url = baseURL.appendingPathComponent("api/2.0/mlflow").appendingPathComponent(path)
        let data: Data
        do { data = try JSONEncoder().encode(body) } catch {
            throw MLflowError.invalidResponse(endpoint: endpoint(path), reason: "cannot encode the request: \(error)")
        }
        return try await call(CurlHTTPRequest(method: "POST", url: url, body: data), endpoint: endpoint(path))
    }

    private func call<Answer: Decodable>(_ request: CurlHTTPRequest, endpoint: String) async throws -> Answer {
        let response = try await exchange(request, endpoint: endpoint)
        guard (200...299).contains(response.status) else {
            throw MLflowError.http(endpoint: endpoint, status: response.status, message: Self.errorMessage(response.body))
        }
        do {
            return try JSONDecoder().decode(Answer.self, from: response.body)
        } catch {
            throw MLflowError.invalidResponse(endpoint: endpoint, reason: "not the expected JSON: \(Self.excerpt(response.body))")
        }
    }

    private func exchange(_ request: CurlHTTPRequest, endpoint: String) async throws -> CurlHTTPResponse {
        do { return try await http.send(request) } catch let error as CurlHTTPError {
            throw MLflowError.transport(endpoint: endpoint, reason: error.description)
        }
    }

    /// MLflow's `{"error_code": …, "message": …}`, else the start of the body (printable only).
    static func errorMessage(_ body: Data) -> String {
        if let answer = try? JSONDecoder().decode(ErrorAnswer.self, from: body), answer.error_code != nil || answer.message != nil {
            return [answer.error_code, answer.message.map { excerpt(Data($0.utf8)) }].compactMap { $0 }.joined(separator: ": ")
        }
        return excerpt(body)
    }

    /// Up to 200 characters of `body` on one line, control characters replaced.
    static func excerpt(_ body: Data) -> String {
        let text = String(decoding: body.prefix(600), as: UTF8.self)
        let clean = String(text.unicodeScalars.map { scalar -> Character in
            scalar.properties.generalCategory == .control ? " " : Character(scalar)
        }.prefix(200))
        let trimmed = clean.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? "empty body" : trimmed
    }
}

/// `{}`: answers whose content the export does not need (any JSON object).
struct EmptyAnswer: Decodable {}
