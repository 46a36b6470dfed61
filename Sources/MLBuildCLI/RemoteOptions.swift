import ArgumentParser
import Foundation
import MLBuildCache
import MLBuildEngine

/// `--remote-cache`, `--remote-upload`, `--remote-header-file`, `--remote-timeout` and their
/// environment twins.
struct RemoteOptions: ParsableArguments {
    @Option(name: .customLong("remote-cache"), help: ArgumentHelp(
        "A shared HTTP cache (bazel-remote protocol: /cas/<sha256>, /ac/<key>). Default: $MLBUILD_REMOTE_CACHE.",
        valueName: "URL"))
    var remoteCache: String?

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

    /// The configured session, or nil when no remote cache is set.
    func session(environment: [String: String], onWarning: @escaping @Sendable (String) -> Void) throws -> RemoteCacheSession? {
        // Checked even without a remote cache: a bad value is an error, never silently ignored.
        let timeout = try requestTimeout(environment: environment)
        guard let text = remoteCache ?? environment["MLBUILD_REMOTE_CACHE"], !text.isEmpty else { return nil }
        do {
            let url = try RemoteCacheConfiguration.parseBaseURL(text)
            var header: RemoteCacheHeader?
            if let file = headerFile ?? environment["MLBUILD_REMOTE_HEADER_FILE"].flatMap({ $0.isEmpty ? nil : $0 }) {
                header = try RemoteCacheConfiguration.readHeader(fromFile: URL(fileURLWithPath: file))
            } else if let value = environment["MLBUILD_REMOTE_HEADER"], !value.isEmpty {
                header = try RemoteCacheConfiguration.parseHeader(value)
            }
            var upload = true
            if let remoteUpload {
                upload = remoteUpload
            } else if let value = environment["MLBUILD_REMOTE_UPLOAD"]?.lowercased(), !value.isEmpty {
                guard let parsed = ["true": true, "1": true, "yes": true, "false": false, "0": false, "no": false][value] else {
                    throw CLIError.usage("MLBUILD_REMOTE_UPLOAD must be true or false")
                }
                upload = parsed
            }
            let configuration = RemoteCacheConfiguration(baseURL: url, header: header, uploadEnabled: upload, requestTimeout: timeout)
            return RemoteCacheSession(configuration: configuration, onWarning: onWarning)
        } catch let error as CLIError {
            throw error
        } catch {
            throw CLIError.usage("remote cache: \(error)")
        }
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
