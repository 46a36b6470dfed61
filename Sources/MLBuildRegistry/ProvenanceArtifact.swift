import Foundation
import MLBuildBasics
import MLBuildOCI

/// The provenance of an image as an OCI 1.1 artifact that refers to it: an image manifest with
/// `artifactType: application/vnd.in-toto+json`, the empty config (`{}`), one layer (the DSSE
/// envelope, `application/vnd.dsse.envelope.v1+json`) and `subject` = the image's descriptor.
struct ProvenanceArtifact: Sendable {
    static let artifactType = "application/vnd.in-toto+json"
    static let envelopeMediaType = "application/vnd.dsse.envelope.v1+json"
    static let emptyMediaType = "application/vnd.oci.empty.v1+json"
    static let emptyConfig = Data("{}".utf8)
    /// The largest provenance file read (they are a few kB).
    static let sizeLimit = 16 << 20

    let envelope: Data
    let envelopeDigest: ContentDigest
    let manifest: Data
    let manifestDigest: ContentDigest

    /// Reads and checks `file`: a DSSE envelope (`payloadType`, base64 `payload`) whose in-toto
    /// statement names `subject` among its subjects' sha256 digests.
    init(file: URL, subject: Descriptor) throws(RegistryError) {
        let name = file.relativePath
        let data: Data
        do {
            let handle = try FileHandle(forReadingFrom: file)
            defer { try? handle.close() }
            data = try handle.read(upToCount: Self.sizeLimit + 1) ?? Data()
        } catch {
            throw RegistryError(.provenance, "cannot read the provenance file '\(name)'")
        }
        guard data.count <= Self.sizeLimit else { throw RegistryError(.provenance, "provenance '\(name)' is larger than \(Self.sizeLimit) bytes") }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let payloadType = object["payloadType"] as? String, let payload = object["payload"] as? String
        else {
            throw RegistryError(.provenance, "provenance '\(name)' is not a DSSE envelope (a JSON object with payloadType and payload)")
        }
        guard payloadType == Self.artifactType else {
            throw RegistryError(.provenance, "provenance '\(name)': payloadType '\(payloadType)' is not '\(Self.artifactType)'")
        }
        guard let statementData = Data(base64Encoded: payload),
              let statement = (try? JSONSerialization.jsonObject(with: statementData)) as? [String: Any]
        else {
            throw RegistryError(.provenance, "provenance '\(name)': the payload is not base64 of an in-toto statement")
        }
        let subjects = (statement["subject"] as? [[String: Any]]) ?? []
        let digests = subjects.compactMap { ($0["digest"] as? [String: Any])?["sha256"] as? String }
        guard digests.contains(subject.digest.hex) else {
            throw RegistryError(.provenance, "provenance '\(name)' is about \(digests.isEmpty ? "no subject" : digests.map { "sha256:\($0)" }.joined(separator: ", ")), not the image \(subject.digest.prefixed) being pushed")
        }
        envelope = data
        envelopeDigest = ContentDigest.of(data)
        manifest = Self.manifest(envelope: Descriptor(mediaType: Self.envelopeMediaType, digest: envelopeDigest, size: Int64(data.count)),
                                 subject: subject)
        manifestDigest = ContentDigest.of(manifest)
    }

    /// The artifact manifest's bytes: keys sorted, no whitespace (same inputs, same digest).
    static func manifest(envelope: Descriptor, subject: Descriptor) -> Data {
        func descriptor(_ d: Descriptor) -> [String: Any] { ["mediaType": d.mediaType, "digest": d.digest.prefixed, "size": d.size] }
        let object: [String: Any] = [
            "schemaVersion": 2,
            "mediaType": MediaType.imageManifest,
            "artifactType": artifactType,
            "config": ["mediaType": emptyMediaType, "digest": ContentDigest.of(emptyConfig).prefixed, "size": emptyConfig.count],
            "layers": [descriptor(envelope)],
            "subject": descriptor(subject),
        ]
        return (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }

    /// The referrers tag schema's tag for a subject: `sha256-<hex>`.
    static func referrersTag(_ subject: ContentDigest) -> String { "sha256-" + subject.hex }

    /// The descriptor the referrers index lists for this artifact.
    var descriptor: [String: Any] {
        ["mediaType": MediaType.imageManifest, "digest": manifestDigest.prefixed, "size": manifest.count, "artifactType": Self.artifactType]
    }

    /// `existing` (a referrers index, or nil) with this artifact added; nil when it lists it already.
    func referrersIndex(adding existing: Data?) throws(RegistryError) -> Data? {
        var index: [String: Any] = ["schemaVersion": 2, "mediaType": MediaType.imageIndex, "manifests": [[String: Any]]()]
        if let existing {
            guard let object = (try? JSONSerialization.jsonObject(with: existing)) as? [String: Any] else {
                throw RegistryError(.rejected, "the referrers index is not a JSON object")
            }
            index = object
        }
        var manifests = (index["manifests"] as? [[String: Any]]) ?? []
        if manifests.contains(where: { $0["digest"] as? String == manifestDigest.prefixed }) { return nil }
        manifests.append(descriptor)
        index["manifests"] = manifests
        return (try? JSONSerialization.data(withJSONObject: index, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
    }
}
