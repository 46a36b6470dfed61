import ArgumentParser
import MLBuildCore

/// `mlbuild hash FILE...`: the SHA-256 content digests mlbuild uses, in `sha256sum` format.
struct HashCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash",
        abstract: "Print the SHA-256 content digest of files (the digests mlbuild's keys are made of).")

    // No default: the parser itself refuses a missing FILE ("Missing expected argument '<FILE> ...'").
    @Argument(help: ArgumentHelp("Files to hash.", valueName: "FILE"))
    var files: [String]

    func run() async throws {
        var failed = false
        for file in files {
            do {
                let (digest, _) = try FileHashing.digest(ofFileAt: file)
                print("\(digest.hex)  \(file)")
            } catch {
                MLBuildMain.printError("error: \(error)")
                failed = true
            }
        }
        if failed { throw CLIError.failed }
    }
}
