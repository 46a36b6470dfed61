import ArgumentParser
import Foundation
import MLBuildCore
import MLBuildEngine
import MLBuildRules
import MLBuildServe
#if canImport(Glibc)
import Glibc
#endif

/// `mlbuild serve MODEL… [--host H] [--port P] [--workers N] [--max-body-bytes N] [--max-rows N]
/// [--expect-digest [NAME=]sha256:HEX]…`: serves built models over HTTP (MLBuildServe.ModelServer
/// documents the API). Every model is read and verified by digest before the socket opens: a
/// model that does not load stops the command with exit 1, naming the file and the digest, so a
/// server that answers is a server whose models all verified.
///
/// What a model's bytes must digest to (`ServeDigests`): the `--expect-digest` pin for its
/// name, and the digest `.mlbuild/state` recorded for the build output it is (always for
/// `model:NAME`; for a path, when the path is a recorded output of the workspace). Reloads
/// (SIGHUP, a changed file) check the same, reading `.mlbuild/state` again.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve built models over HTTP (model:NAME or paths to model.json files).",
        discussion: """
        POST /v1/models/NAME/predict with text/csv (answers the CSV `mlbuild predict` prints) or \
        application/json {"rows":[{...}]}; GET /v1/models, /healthz, /readyz, /metrics. Once \
        listening, prints `mlbuild serve: listening on http://HOST:PORT` on standard error (useful \
        with --port 0), then JSON log lines. SIGHUP reloads the models; SIGTERM or SIGINT drains \
        and stops the server with exit status 0. docs/serve.md has the details.
        """
    )

    @Option(name: .customShort("C"), help: ArgumentHelp("Change to DIR before doing anything (the workspace root).", valueName: "DIR"))
    var directory: String?

    @Option(name: .shortAndLong, help: ArgumentHelp("The Mlfile the models are built from (only named in the hint when a model is not built yet).", valueName: "FILE"))
    var file: String?

    @Argument(help: ArgumentHelp("model:NAME (build/model/NAME/model.json) or a path to a model.json; several are routed by name.", valueName: "MODEL"))
    var models: [String]

    @Option(help: ArgumentHelp("The address to listen on.", valueName: "HOST"))
    var host = "127.0.0.1"

    @Option(help: ArgumentHelp("The TCP port (0: any free port, printed once bound).", valueName: "PORT"))
    var port = 8080

    @Option(help: ArgumentHelp("Event-loop threads, and as many scoring threads (default: the number of cores).", valueName: "N"))
    var workers: Int?

    @Option(help: ArgumentHelp("Largest request body accepted; larger ones get 413.", valueName: "BYTES"))
    var maxBodyBytes = ModelServer.Options.defaultMaxBodyBytes

    @Option(help: ArgumentHelp("Most rows scored in one request; more get 413 before anything is scored.", valueName: "N"))
    var maxRows = PredictionEndpoint.defaultMaxRows

    @Option(help: ArgumentHelp("The digest a model's file must have (NAME= may be left out when one model is served); repeatable.", valueName: "[NAME=]sha256:HEX"))
    var expectDigest: [String] = []

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("name at least one model to serve (model:NAME or a path to a model.json)") }
        guard (0 ... 65535).contains(port) else { throw ValidationError("--port \(port) is not a TCP port (0 to 65535)") }
        guard maxBodyBytes > 0 else { throw ValidationError("--max-body-bytes must be positive, got \(maxBodyBytes)") }
        guard maxRows > 0 else { throw ValidationError("--max-rows must be positive, got \(maxRows)") }
        if let workers, !(1 ... 1024).contains(workers) { throw ValidationError("--workers must be 1 to 1024, got \(workers)") }
    }

    func run() async throws {
        if let directory, chdir(directory) != 0 {
            throw CLIError.usage("cannot change to directory '\(directory)': \(String(cString: strerror(errno)))")
        }
        var locations: [(argument: String, location: ModelLocation)] = []
        var seen: [String: String] = [:]
        for argument in models {
            let location = try ModelLocation(argument, mlfile: file)
            if let earlier = seen[location.name] {
                throw CLIError.usage("'\(argument)' and '\(earlier)' would both be served as '\(location.name)': routes are by name")
            }
            seen[location.name] = argument
            locations.append((argument, location))
        }
        let pins = try ServeDigests.pins(expectDigest, served: locations.map(\.location.name))
        let root = FileManager.default.currentDirectoryPath
        var sources: [ModelSource] = []
        var served: [ServedModel] = []
        for (argument, location) in locations {
            let source = ServeDigests.source(argument: argument, location: location, pin: pins[location.name], root: root)
            sources.append(source)
            do {
                served.append(try ServedModel.load(source))
            } catch let error as ModelLoadError {
                throw CLIError.message(error.description)
            }
        }
        let options = ModelServer.Options(
            host: host, port: port, maxBodyBytes: maxBodyBytes, maxRows: maxRows,
            workers: workers ?? ModelServer.Options.defaultWorkers)
        do {
            try await ModelServer(sources: sources, models: served, options: options).run()
        } catch {
            throw CLIError.message("serve: cannot listen on \(host):\(port): \(error)")
        }
    }
}

/// Where the digests a served model must have come from: `--expect-digest` and `.mlbuild/state`.
enum ServeDigests {
    /// `--expect-digest` values by model name. A value without `NAME=` names the only model.
    static func pins(_ values: [String], served names: [String]) throws -> [String: String] {
        var pins: [String: String] = [:]
        for value in values {
            let name: String
            let digestText: String
            if let equals = value.firstIndex(of: "="), !value[..<equals].hasPrefix("sha256:") {
                name = String(value[..<equals])
                digestText = String(value[value.index(after: equals)...])
            } else {
                guard names.count == 1, let only = names.first else {
                    throw CLIError.usage("--expect-digest \(value): name the model (NAME=sha256:HEX) when serving several")
                }
                name = only
                digestText = value
            }
            guard names.contains(name) else {
                throw CLIError.usage("--expect-digest \(value): no served model is named '\(name)' (served: \(names.joined(separator: ", ")))")
            }
            guard let digest = DigestExpectation.canonical(digestText) else {
                throw CLIError.usage("--expect-digest \(value): expected sha256: and 64 hex digits")
            }
            if let earlier = pins[name], earlier != digest {
                throw CLIError.usage("--expect-digest gives '\(name)' two digests: \(earlier) and \(digest)")
            }
            pins[name] = digest
        }
        return pins
    }

    static func source(argument: String, location: ModelLocation, pin: String?, root: String) -> ModelSource {
        let statePath = root + "/.mlbuild/state"
        let reference = TargetReference(parsing: argument).flatMap { $0.kind == ModelRule.kind && !argument.hasSuffix(".json") ? $0 : nil }
        let absolute = location.path.hasPrefix("/") ? location.path : root + "/" + location.path
        let normalized = WorkspacePath.lexicallyNormalized(absolute)
        let base = WorkspacePath.lexicallyNormalized(root)
        let prefix = base == "/" ? "/" : base + "/"
        let relative = normalized.hasPrefix(prefix) ? String(normalized.dropFirst(prefix.count)) : nil
        let path = location.path
        return ModelSource(
            name: location.name, path: path,
            watchedPaths: reference == nil ? [path] : [path, statePath, BuildState.journalPath(of: statePath)],  // a build may append its records to the journal
            expectations: {
                var expected: [DigestExpectation] = []
                if let pin { expected.append(DigestExpectation(digest: pin, source: "--expect-digest")) }
                let state = BuildState.load(from: statePath)
                if let reference {
                    // model:NAME is a build output: it must be the one the last build recorded.
                    guard let record = state.records[reference],
                          let output = record.result.outputs.first(where: { $0.path == relative }),
                          let digest = output.digest else {
                        throw ModelLoadError(
                            "\(path): .mlbuild/state has no record of it as \(reference)'s output, so its digest cannot be checked: "
                                + "build it (mlbuild \(reference)), or serve the file by path with --expect-digest")
                    }
                    expected.append(DigestExpectation(digest: "sha256:" + digest.hex, source: ".mlbuild/state (the last build of \(reference))"))
                } else if let relative {
                    // A path that some target of this workspace recorded as its output is checked the same way.
                    for target in state.records.keys.sorted() {
                        guard let record = state.records[target],
                              let output = record.result.outputs.first(where: { $0.path == relative }),
                              let digest = output.digest else { continue }
                        expected.append(DigestExpectation(digest: "sha256:" + digest.hex, source: ".mlbuild/state (the last build of \(target))"))
                    }
                }
                return expected
            })
    }
}
