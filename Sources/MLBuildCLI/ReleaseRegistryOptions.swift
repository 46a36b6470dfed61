import ArgumentParser
import Foundation
import MLBuildEngine
import MLBuildRegistry

/// `--registry REGISTRY/REPO:TAG` and `--insecure` of release, promote and rollback: where a
/// channel's image is pushed (remembered per channel, so a rollback pushes there too).
struct ReleaseRegistryOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Also push the image to REGISTRY/REPO:TAG (remembered for the channel).", valueName: "REF"))
    var registry: String?

    @Flag(help: "Allow plain HTTP to the registry (loopback test registries).")
    var insecure = false

    var reference: String? { registry }

    /// Pushes `image` and appends a `push` audit entry; returns the reference pushed to.
    func push(image: String, to reference: String, workspace: Workspace, who: String) async throws -> String {
        let destination: RegistryReference
        do { destination = try RegistryReference(parsing: reference) } catch { throw PushCommand.cliError(error) }
        let archive = URL(fileURLWithPath: image.hasPrefix("/") ? image : "\(workspace.root)/\(image)")
        let provenance = archive.deletingLastPathComponent().appendingPathComponent("provenance.json")
        let options = RegistryPushOptions(
            allowHTTP: insecure, chunkSize: RegistryPushOptions.defaultChunkSize,
            provenance: FileManager.default.fileExists(atPath: provenance.path) ? provenance : nil,
            log: { MLBuildMain.printError($0) })
        let result = try await PushCommand.push(archive, to: destination, options: options, environment: workspace.environment,
                                                source: image, directory: workspace.root)
        return "\(result.reference.description)@\(result.manifestDigest.prefixed)"
    }
}
