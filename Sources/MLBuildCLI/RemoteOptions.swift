import ArgumentParser
import Foundation
import MLBuildCache
import MLBuildEngine
import MLBuildREAPI

/// `--remote-cache`, `--remote-instance`, `--remote-upload`, `--remote-header-file`,
/// `--remote-timeout` and their environment twins.
struct RemoteOptions: ParsableArguments {
    @Option(name: .customLong("remote-cache"), help: ArgumentHelp(
        "A shared cache: an HTTP cache (bazel-remote protocol: /cas/<sha256>, /ac/<key>), or a Remote Execution API server's action cache and CAS at grpc://HOST:PORT (grpcs:// for TLS). Default: $MLBUILD_REMOTE_CACHE.",
        valueName: "URL"))
    var remoteCache: String?

    @Option(name: .customLong("remote-instance"), help: ArgumentHelp(
        "The instance name on a grpc:// remote cache (REAPI instance_name). Default: $MLBUILD_REMOTE_INSTANCE, else none.",
        valueName: "NAME"))
    var remoteInstance: String?

    @Option(name: .customLong("remote-upload"), help: ArgumentHelp(
        "Upload results to the remote cache (false: read-only, e.g. for untrusted pull requests). Default: $MLBUILD_REMOTE_UPLOAD, else true.",
        valueName: "BOOL"))
    var remoteUpload: Bool?

    @Option(name: .customLong("remote-header-file"), help: ArgumentHelp(
        "A file holding one 'Name: value' header sent with every remote request (e.g. Authorization). Default: $MLBUILD_REMOTE_HEADER_FILE; or the header itself in $MLBUILD_REMOTE_HEADER. Never printed.",
        valueName: "FILE"))
    var headerFile: String?

    @Option(name: .customLong("remote-timeout"), help: ArgumentHelp(
        "Total seconds one remote request may take, body included (then: one warning, local build). Default: $MLBUILD_REMOTE_TIMEOUT, else 30.",
        valueName: "SECONDS"))
    var remoteTimeout: String?

    /// The engine's remote cache, or nil when none is set: the HTTP cache's session, or a
    /// Remote Execution API server's for a grpc:// or grpcs:// address (which connects lazily:
    /// nothing goes over the network before the build asks).
    func backend(environment: [String: String], onWarning: @escaping @Sendable (String) -> Void) throws -> (any RemoteCacheBackend)? {
        guard let text = configuredCache(environment), REAPIEndpoint.isGRPC(text) else {
            return try session(environment: environment, onWarning: onWarning).map { RemoteCacheAdapter(session: $0, onWarning: onWarning) }
        }
        let timeout = try requestTimeout(environment: environment)
        do {
            return try REAPICacheBackend(endpoint: try REAPIEndpoint(parsing: text), instance: instance(environment: environment),
                                         header: try header(environment: environment), requestTimeout: timeout,
                                         uploadEnabled: try upload(environment: environment), onWarning: onWarning)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError.usage("remote cache: \(error)")
        }
    }

    /// Whether the remote cache settings are valid (without connecting anywhere); throws as
    /// `backend` would.
    func validate(environment: [String: String]) throws {
        guard let text = configuredCache(environment), REAPIEndpoint.isGRPC(text) else {
            _ = try session(environment: environment, onWarning: { _ in })
            return
        }
        _ = try requestTimeout(environment: environment)
        do {
            _ = try REAPIEndpoint(parsing: text)
            _ = try header(environment: environment)
            _ = try upload(environment: environment)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError.usage("remote cache: \(error)")
        }
    }

    func configuredCache(_ environment: [String: String]) -> String? {
        guard let text = remoteCache ?? environment["MLBUILD_REMOTE_CACHE"], !text.isEmpty else { return nil }
        return text
    }

    /// `--remote-instance`, else `MLBUILD_REMOTE_INSTANCE`, else "" (the server's default instance).
    func instance(environment: [String: String]) -> String {
        remoteInstance ?? environment["MLBUILD_REMOTE_INSTANCE"] ?? ""
    }

    /// The configured HTTP session, or nil when no remote cache is set.
    func session(environment: [String: String], onWarning: @escaping @Sendable (String) -> Void) throws -> RemoteCacheSession? {
        // Checked even without a remote cache: a bad value is an error, never silently ignored.
        let timeout = try requestTimeout(environment: environment)
        guard let text = configuredCache(environment) else { return nil }
        do {
            let url = try RemoteCacheConfiguration.parseBaseURL(text)
            let configuration = RemoteCacheConfiguration(baseURL: url, header: try header(environment: environment),
                                                         uploadEnabled: try upload(environment: environment), requestTimeout: timeout)
            return RemoteCacheSession(configuration: configuration, onWarning: onWarning)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError.usage("remote cache: \(error)")
        }
    }

    /// The credential header (`--remote-header-file`, else the environment); never printed.
    func header(environment: [String: String]) throws -> RemoteCacheHeader? {
        if let file = headerFile ?? environment["MLBUILD_REMOTE_HEADER_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) {
            return try RemoteCacheConfiguration.readHeader(fromFile: URL(fileURLWithPath: file))
        } else if let value = environment["MLBUILD_REMOTE_HEADER"], !value.isEmpty {
            return try RemoteCacheConfiguration.parseHeader(value)
        }
        return nil
    }

    /// `--remote-upload`, else `MLBUILD_REMOTE_UPLOAD`, else true.
    func upload(environment: [String: String]) throws -> Bool {
        if let remoteUpload { return remoteUpload }
        guard let value = environment["MLBUILD_REMOTE_UPLOAD"]?.lowercased(), !value.isEmpty else { return true }
        guard let parsed = ["true": true, "1": true, "yes": true, "false": false, "0": false, "no": false][value] else {
            throw CLIError.usage("MLBUILD_REMOTE_UPLOAD must be true or false")
        }
        return parsed
    }

    /// `--remote-timeout`, else `MLBUILD_REMOTE_TIMEOUT`, else 30 s.
    func requestTimeout(environment: [String: String]) throws -> Double {
        guard let text = remoteTimeout ?? environment["MLBUILD_REMOTE_TIMEOUT"].flatMap({ $0.isEmpty ? nil : $0 }) else { return 30 }
        let source = remoteTimeout != nil ? "--remote-timeout" : "MLBUILD_REMOTE_TIMEOUT"
        guard let seconds = Double(text.trimmingCharacters(in: .whitespaces)), seconds.isFinite, seconds > 0, seconds <= 86_400 else {
            throw CLIError.usage("\(source) must be a number of seconds between 0 and 86400, not '\(text)'")
        }
        return seconds
    }
}
