import ArgumentParser
import Foundation
import MLBuildRules
import MLBuildServe
#if canImport(Glibc)
import Glibc
#endif

/// `mlbuild serve MODEL… [--host H] [--port P] [--max-body-bytes N]`: serves built models over
/// HTTP (MLBuildServe.ModelServer documents the API). Every model is read and verified before
/// the socket opens: a model that does not load stops the command with exit 1 and the file's
/// error, so a server that answers is a server whose models all verified.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve built models over HTTP (model:NAME or paths to model.json files).",
        discussion: """
        POST /v1/models/NAME/predict with text/csv (answers the CSV `mlbuild predict` prints) or \
        application/json {"rows":[{...}]}; GET /v1/models, /healthz, /readyz. Once listening, \
        prints `mlbuild serve: listening on http://HOST:PORT` on standard error (useful with \
        --port 0). SIGTERM or SIGINT stops the server; the exit status is then 0.
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

    @Option(help: ArgumentHelp("Largest request body accepted; larger ones get 413.", valueName: "BYTES"))
    var maxBodyBytes = ModelServer.defaultMaxBodyBytes

    func validate() throws {
        guard !models.isEmpty else { throw ValidationError("name at least one model to serve (model:NAME or a path to a model.json)") }
        guard (0 ... 65535).contains(port) else { throw ValidationError("--port \(port) is not a TCP port (0 to 65535)") }
        guard maxBodyBytes > 0 else { throw ValidationError("--max-body-bytes must be positive, got \(maxBodyBytes)") }
    }

    func run() async throws {
        if let directory, chdir(directory) != 0 {
            throw CLIError.usage("cannot change to directory '\(directory)': \(String(cString: strerror(errno)))")
        }
        var served: [ServedModel] = []
        var seen: [String: String] = [:]
        for argument in models {
            let location = try ModelLocation(argument, mlfile: file)
            if let earlier = seen[location.name] {
                throw CLIError.usage("'\(argument)' and '\(earlier)' would both be served as '\(location.name)': routes are by name")
            }
            seen[location.name] = argument
            do {
                served.append(try ServedModel.load(name: location.name, path: location.path))
            } catch let error as ModelArtifactError {
                throw CLIError.message(error.description)
            }
        }
        do {
            try await ModelServer(models: served, host: host, port: port, maxBodyBytes: maxBodyBytes).run()
        } catch {
            throw CLIError.message("serve: cannot listen on \(host):\(port): \(error)")
        }
    }
}
