import ArgumentParser
import Foundation
import MLBuildOCI

/// `mlbuild container verify FILE`: checks an OCI image archive (or layout directory) end to end.
struct ContainerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "container",
        abstract: "Work with the OCI images that container targets write.",
        subcommands: [Verify.self]
    )

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check every blob of an OCI archive: sizes, sha256 digests and layer diff_ids.",
            discussion: """
            FILE is an oci-archive tar (build/container/NAME/image.tar) or an OCI image-layout \
            directory. Exit 0 and a short report when it is intact; exit 1 naming the first bad \
            blob otherwise.
            """)

        @Argument(help: ArgumentHelp("The image archive or layout directory.", valueName: "FILE"))
        var file: String

        func run() async throws {
            let url = URL(fileURLWithPath: file)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw CLIError.message("'\(file)' does not exist")
            }
            let report: VerificationReport
            do {
                report = try OCIArchiveVerifier.verify(url)
            } catch let error as OCIError {
                // Its message names the image already ("OCI image 'FILE': …").
                throw CLIError.message(error.message)
            } catch let error as ArchiveError {
                throw CLIError.message("\(file): \(error.message)")
            } catch {
                throw CLIError.message("\(file): \(error)")
            }
            print(Self.describe(report, file: file), terminator: "")
        }

        static func describe(_ report: VerificationReport, file: String) -> String {
            var text = "\(file): ok, \(counted(report.blobsVerified, "blob")), \(counted(report.bytesVerified, "byte")) verified\n"
            for image in report.images {
                text += "  manifest \(image.manifestDigest.prefixed)"
                if let tag = image.refName { text += " (\(tag))" }
                text += " \(image.platform), config \(image.configDigest.prefixed), \(counted(image.layers.count, "layer"))\n"
                for layer in image.layers {
                    text += "    layer \(layer.digest.prefixed) diff_id \(layer.diffID.prefixed)\n"
                }
            }
            return text
        }
    }
}
