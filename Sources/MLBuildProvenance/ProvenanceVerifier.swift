import Foundation
import MLBuildBasics
import MLBuildCore
import MLBuildOCI

/// `mlbuild provenance verify`: checks a DSSE-wrapped provenance against a public key, the image
/// it names and the workspace's source files.
///
/// In order: the envelope's payload type; a signature by the key that verifies over the exact
/// payload bytes; the image archive end to end (every blob's digest, so a changed byte of any
/// layer is found); the statement's subject against the image's manifest digest; then each
/// `file:` and `oci-archive:` dependency found in the workspace against its recorded digest
/// (a missing file is reported, not a failure: a release machine may hold only the image).
public enum ProvenanceVerifier {
    public struct Report: Sendable {
        public var statement: ProvenanceStatement
        public var keyID: String
        public var imageDigest: ContentDigest
        /// Sources whose bytes match.
        public var matched: [String] = []
        /// Sources not in the workspace.
        public var missing: [String] = []
        /// Sources whose bytes differ: (path, recorded hex, found hex).
        public var mismatched: [(path: String, recorded: String, found: String)] = []

        public var isValid: Bool { mismatched.isEmpty }
    }

    public static func verify(image: String, provenance: String, publicKey: VerifyingKey, workspace: String) throws -> Report {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: provenance))
        } catch {
            throw ProvenanceError("cannot read '\(provenance)': \(SigningKey.reason(error))")
        }
        let envelope = try DSSEEnvelope(parsing: data, name: provenance)
        guard envelope.payloadType == DSSEEnvelope.inTotoPayloadType else {
            throw ProvenanceError("\(provenance): payloadType is '\(envelope.payloadType)', not \(DSSEEnvelope.inTotoPayloadType)")
        }
        if envelope.signatures.isEmpty {
            throw ProvenanceError("\(provenance): the provenance is unsigned (build with --signing-key to sign it)")
        }
        guard envelope.isSigned(by: publicKey) else {
            let ids = envelope.signatures.map(\.keyID).joined(separator: ", ")
            throw ProvenanceError(envelope.signatures.contains { $0.keyID == publicKey.keyID }
                ? "\(provenance): the signature does not verify under key \(publicKey.keyID): the provenance was changed after signing"
                : "\(provenance): not signed by key \(publicKey.keyID) (signed by \(ids))")
        }
        let statement = try ProvenanceStatement(payload: envelope.payload, name: provenance)
        let report: VerificationReport
        do {
            report = try OCIArchiveVerifier.verify(URL(fileURLWithPath: image))
        } catch let error as OCIError {
            throw ProvenanceError(error.message)
        } catch let error as ArchiveError {
            throw ProvenanceError("\(image): \(error.message)")
        }
        guard let manifest = report.images.first?.manifestDigest else {
            throw ProvenanceError("\(image): the archive holds no image")
        }
        guard manifest.hex == statement.subjectDigest else {
            throw ProvenanceError("\(image): its manifest digest \(manifest.prefixed) is not the provenance's subject sha256:\(statement.subjectDigest)")
        }
        var result = Report(statement: statement, keyID: publicKey.keyID, imageDigest: manifest)
        let root = URL(fileURLWithPath: workspace, isDirectory: true)
        for resource in statement.resolvedDependencies {
            let path: String
            if let file = resource.filePath {
                path = file
            } else if resource.uri.hasPrefix("oci-archive:") {
                path = String(resource.uri.dropFirst("oci-archive:".count))
            } else {
                continue
            }
            let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : root.appendingPathComponent(path)
            guard FileStat.of(url.path)?.isRegularFile == true else {
                result.missing.append(path)
                continue
            }
            let found = try FileHashing.digest(ofFileAt: url.path).digest.hex
            if found == resource.sha256 {
                result.matched.append(path)
            } else {
                result.mismatched.append((path, resource.sha256, found))
            }
        }
        return result
    }
}
