import ArgumentParser
import Foundation
import MLBuildCore
import MLBuildHistory
import MLBuildRegistry

/// `mlbuild push container:NAME|IMAGE.tar HOST[:PORT]/REPO[:TAG]`: brings the container target
/// up to date (the same build `mlbuild build container:NAME` runs), then hands its image.tar to
/// MLBuildRegistry's `RegistryPusher`. Thin on purpose: `release` and `rollback` call the pusher too.
struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push a container target's image (or an image archive) to an OCI registry.",
        discussion: """
        SOURCE is container:NAME (built first if stale, then build/container/NAME/image.tar is \
        pushed) or the path of an oci-archive. DESTINATION is HOST[:PORT]/REPOSITORY[:TAG] (tag \
        `latest` when omitted) or …@sha256:DIGEST. The archive is verified before any upload; \
        blobs the registry has already are not sent again. A provenance.json next to the \
        archive (or --provenance FILE), a DSSE envelope of an in-toto statement about the image, \
        is attached as an OCI referrer. Credentials: MLBUILD_REGISTRY_AUTH=USER:PASSWORD or \
        bearer:TOKEN, else the docker config.json auths. Exit codes: 0 pushed, 1 push or build \
        failed, 2 bad command line. See docs/push.md.
        """
    )

    @OptionGroup var workspaceOptions: WorkspaceOptions

    @Argument(help: ArgumentHelp("container:NAME, or the path of an oci-archive (image.tar).", valueName: "SOURCE"))
    var source: String

    @Argument(help: ArgumentHelp("HOST[:PORT]/REPOSITORY[:TAG] or HOST[:PORT]/REPOSITORY@sha256:DIGEST.", valueName: "DESTINATION"))
    var destination: String

    @Flag(help: "Allow plain HTTP (a registry on loopback): the destination is reached over http.")
    var insecure = false

    @Option(help: ArgumentHelp("The provenance (DSSE envelope) to attach (default: provenance.json next to the archive, if any).", valueName: "FILE"))
    var provenance: String?

    @Flag(name: .customLong("no-provenance"), help: "Attach no provenance, even when provenance.json is next to the archive.")
    var noProvenance = false

    @Flag(help: "Print the outcome as one JSON object on standard output.")
    var json = false

    @Option(name: .customLong("chunk-size"), help: ArgumentHelp("Upload blobs larger than BYTES in chunks of BYTES (default 32 MiB).", valueName: "BYTES"))
    var chunkSize: Int64?

    func validate() throws {
        if let chunkSize, chunkSize < 1 { throw ValidationError("--chunk-size must be at least 1") }
        if provenance != nil && noProvenance { throw ValidationError("--provenance and --no-provenance exclude each other") }
    }

    func run() async throws {
        let reference: RegistryReference
        do { reference = try RegistryReference(parsing: destination) } catch { throw Self.cliError(error) }
        // Paths on the command line are relative to where mlbuild was started, not to -C.
        let startDirectory = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
        func absolute(_ path: String) -> URL { URL(fileURLWithPath: path, relativeTo: startDirectory).standardizedFileURL }

        let archive: URL
        if let target = TargetReference(parsing: source), !FileManager.default.fileExists(atPath: absolute(source).path) {
            guard target.kind == "container" else {
                throw CLIError.usage("push sends a container target (container:NAME) or an image archive, not \(source)")
            }
            try await build(target)
            // The build entered the workspace (-C): the archive is where the container rule writes it.
            archive = URL(fileURLWithPath: FileManager.default.currentDirectoryPath, isDirectory: true)
                .appendingPathComponent("build/container/\(target.name)/image.tar")
        } else {
            guard FileManager.default.fileExists(atPath: absolute(source).path) else {
                throw CLIError.message("no image archive at '\(source)' (SOURCE is container:NAME or the path of an oci-archive)")
            }
            archive = absolute(source)
        }
        var provenanceFile = provenance.map(absolute)
        let sibling = archive.deletingLastPathComponent().appendingPathComponent("provenance.json")
        if provenanceFile == nil, !noProvenance, FileManager.default.fileExists(atPath: sibling.path) { provenanceFile = sibling }

        let log: @Sendable (String) -> Void = { MLBuildMain.printError($0) }
        let options = RegistryPushOptions(allowHTTP: insecure, chunkSize: chunkSize ?? RegistryPushOptions.defaultChunkSize,
                                          provenance: provenanceFile, log: json ? nil : log)
        let result = try await Self.push(archive, to: reference, options: options, environment: ProcessInfo.processInfo.environment,
                                         source: source, directory: FileManager.default.currentDirectoryPath)
        print(json ? result.json() : result.summary)
    }

    /// Pushes `archive` with the credentials the environment names and appends the `push`
    /// audit entry: what `push`, `release`, `promote` and `rollback` share.
    static func push(_ archive: URL, to reference: RegistryReference, options: RegistryPushOptions, environment: [String: String],
                     source: String, directory: String) async throws -> RegistryPushResult {
        let result: RegistryPushResult
        do {
            let credentials = try RegistryCredentials.resolve(host: reference.host, environment: environment)
            result = try await RegistryPusher(destination: reference, credentials: credentials, options: options).push(archive: archive)
        } catch {
            throw cliError(error)
        }
        audit(result, source: source, directory: directory)
        return result
    }

    /// The `push` audit entry (in DIRECTORY/.mlbuild, the workspace once -C was applied); a
    /// failure to append is a warning: the push happened.
    static func audit(_ result: RegistryPushResult, source: String, directory: String) {
        var details: [String: String] = ["reference": result.reference.description, "image": result.manifestDigest.prefixed, "source": source,
                       "bytes_uploaded": String(result.bytesUploaded),
                       "blobs_uploaded": String(result.blobs.filter(\.uploaded).count)]
        if let provenance = result.provenance { details["provenance"] = provenance.manifestDigest.prefixed }
        let who = GitRevision.userEmail(workspace: directory) ?? HistoryRecorder.user(ProcessInfo.processInfo.environment)
        do {
            try AuditLog(stateDirectory: "\(directory)/.mlbuild").append(action: "push", who: who, details: details)
        } catch {
            MLBuildMain.printError("mlbuild: warning: audit log not appended: \(error)")
        }
    }

    /// Runs `mlbuild build container:NAME` with this command's workspace options: one build path.
    private func build(_ target: TargetReference) async throws {
        var arguments = ["-f", workspaceOptions.file]
        if let directory = workspaceOptions.directory { arguments += ["-C", directory] }
        if let cache = workspaceOptions.cacheDirectory { arguments += ["--cache-dir", cache] }
        if let seed = workspaceOptions.seed { arguments += ["--seed", String(seed)] }
        let command = try BuildCommand.parse(arguments + [target.description])
        try await command.run()
    }

    static func cliError(_ error: Error) -> CLIError {
        guard let error = error as? RegistryError else { return .message("\(error)") }
        return error.isUsageError ? .usage(error.message) : .message(error.message)
    }
}
