import ArgumentParser
import Foundation
import MLBuildDatasets
import MLBuildProvenance

/// `mlbuild provenance verify IMAGE --provenance FILE --public-key KEY.pub`.
struct ProvenanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provenance",
        abstract: "Check the signed provenance container targets write.",
        subcommands: [Verify.self]
    )

    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Verify an image's provenance: signature, subject digest and source files.",
            discussion: """
            Checks, in order: the DSSE envelope's Ed25519 signature by the public key over the \
            exact payload; every blob of IMAGE (so one changed byte anywhere is found); that the \
            statement's subject is IMAGE's manifest digest; and the SHA-256 of every source file \
            and base image the provenance names that exists in the workspace (-C DIR, default \
            the current directory). Files not found are listed, not failed. Exit 0 when all \
            holds, 1 naming what does not.
            """)

        @Argument(help: ArgumentHelp("The image archive (build/container/NAME/image.tar).", valueName: "IMAGE"))
        var image: String

        @Option(help: ArgumentHelp("The provenance (default: provenance.json beside IMAGE).", valueName: "FILE"))
        var provenance: String?

        @Option(name: .customLong("public-key"), help: ArgumentHelp("The signer's public key (PEM, from `mlbuild keygen`).", valueName: "KEY.pub"))
        var publicKey: String

        @Option(name: .customShort("C"), help: ArgumentHelp("The workspace whose source files are checked.", valueName: "DIR"))
        var directory: String?

        @Flag(help: "Print the result as JSON.")
        var json = false

        func run() throws {
            let provenancePath = provenance ?? ((image as NSString).deletingLastPathComponent as NSString).appendingPathComponent("provenance.json")
            guard FileManager.default.fileExists(atPath: image) else { throw CLIError.message("'\(image)' does not exist") }
            let report: ProvenanceVerifier.Report
            do {
                let key = try VerifyingKey(contentsOf: publicKey)
                report = try ProvenanceVerifier.verify(image: image, provenance: provenancePath, publicKey: key,
                                                      workspace: directory ?? FileManager.default.currentDirectoryPath)
            } catch let error as ProvenanceError {
                if json { print(CanonicalJSON.line(.object(["valid": .bool(false), "error": .string(error.description)]))) }
                throw CLIError.message(error.description)
            }
            if json {
                print(CanonicalJSON.line(.object([
                    "valid": .bool(report.isValid),
                    "subject": .string("sha256:\(report.statement.subjectDigest)"),
                    "key_id": .string(report.keyID),
                    "target": .string(report.statement.target),
                    "matched": .array(report.matched.map { .string($0) }),
                    "missing": .array(report.missing.map { .string($0) }),
                    "mismatched": .array(report.mismatched.map {
                        .object(["path": .string($0.path), "recorded": .string($0.recorded), "found": .string($0.found)])
                    }),
                ])))
            } else {
                print("\(image): signature ok (key \(report.keyID)), subject \(report.imageDigest.prefixed) matches the image")
                print("  \(report.statement.target), action key \(report.statement.actionKey), mlbuild \(report.statement.mlbuildVersion)")
                for path in report.matched { print("  ok       \(path)") }
                for path in report.missing { print("  missing  \(path) (not in this workspace)") }
                for bad in report.mismatched { print("  CHANGED  \(bad.path): provenance sha256:\(bad.recorded), workspace sha256:\(bad.found)") }
            }
            if !report.isValid {
                if !json {
                    MLBuildMain.printError("error: \(report.mismatched.count) source file\(report.mismatched.count == 1 ? "" : "s") differ from the provenance (first: \(report.mismatched[0].path))")
                }
                throw CLIError.failed
            }
        }
    }
}
