import Foundation
import MLBuildBasics
import MLBuildCache
import MLBuildOCI

/// How a push behaves.
public struct RegistryPushOptions: Sendable {
    /// Plain HTTP allowed (`--insecure`): a reference without a scheme is then pushed over
    /// http. Without it `http://` is refused.
    public var allowHTTP: Bool
    /// Blobs up to this size go in one PUT; larger ones in PATCH chunks of this size.
    public var chunkSize: Int64
    /// Blobs checked and uploaded at once.
    public var maxConcurrentUploads: Int
    /// A DSSE envelope to attach as the image's referrer, if any.
    public var provenance: URL?
    /// Seconds one request may take (a large chunk on a slow link).
    public var requestTimeout: Double
    /// Called with one line per blob uploaded (progress for a human); on any thread.
    public var log: (@Sendable (String) -> Void)?

    public static let defaultChunkSize: Int64 = 32 << 20

    public init(allowHTTP: Bool = false, chunkSize: Int64 = defaultChunkSize, maxConcurrentUploads: Int = 3, provenance: URL? = nil,
                requestTimeout: Double = 600, log: (@Sendable (String) -> Void)? = nil) {
        self.allowHTTP = allowHTTP
        self.chunkSize = chunkSize
        self.maxConcurrentUploads = maxConcurrentUploads
        self.provenance = provenance
        self.requestTimeout = requestTimeout
        self.log = log
    }
}

/// Pushes an OCI image archive to a registry, speaking the distribution API itself:
/// 1. the archive is verified end to end (`VerifiedImageLayout`): nothing unchecked is sent;
/// 2. access is checked (`GET /v2/`, authenticated) before any upload;
/// 3. each config and layer blob the registry lacks (HEAD 404) is uploaded, a few at once;
/// 4. the image manifest is PUT under the tag with its exact archive bytes (for an archive
///    whose index.json names an image index, each image manifest by digest, then the index);
/// 5. the provenance, if given, as an artifact whose `subject` is the image: through the
///    referrers API when the registry answers `OCI-Subject`, else listed in the index tagged
///    `sha256-<hex>` (the OCI 1.1 referrers tag schema), read, extended and written back.
public struct RegistryPusher: Sendable {
    public let destination: RegistryReference
    public let options: RegistryPushOptions
    private let client: RegistryClient

    /// `http`: nil for libcurl (`CurlHTTPClient`).
    public init(destination: RegistryReference, credentials: RegistryCredentials?, options: RegistryPushOptions,
                http: (any RegistryHTTP)? = nil) throws(RegistryError) {
        let scheme: RegistryReference.Scheme
        switch destination.explicitScheme {
        case .http?:
            guard options.allowHTTP else {
                throw RegistryError(.insecureRefused, "refusing plain HTTP to \(destination.host) without --insecure")
            }
            scheme = .http
        case .https?: scheme = .https
        case nil: scheme = options.allowHTTP ? .http : .https
        }
        guard options.chunkSize >= 1 else { throw RegistryError(.invalidReference, "the chunk size must be at least 1 byte") }
        self.destination = destination
        self.options = options
        let transport = http ?? CurlHTTPClient(secretHeader: nil, connectTimeout: 5, requestTimeout: options.requestTimeout,
                                               keptConnections: max(1, options.maxConcurrentUploads))
        client = try RegistryClient(host: destination.host, scheme: scheme, credentials: credentials, http: transport)
    }

    /// What gets pushed from an archive: blobs, manifests by digest, and the tagged manifest.
    private struct Plan {
        var blobs: [Descriptor] = []
        /// (digest, media type) of image manifests pushed by digest first (index case).
        var children: [Descriptor] = []
        var top: Descriptor
    }

    public func push(archive: URL) async throws -> RegistryPushResult {
        let layout: VerifiedImageLayout
        do {
            layout = try VerifiedImageLayout(opening: archive)
        } catch let error as OCIError {
            throw RegistryError(.archive, "not pushing \(archive.relativePath): \(error.message)")
        } catch {
            throw RegistryError(.archive, "not pushing \(archive.relativePath): \(error)")
        }
        defer { layout.remove() }
        let plan = try plan(layout)
        if let wanted = destination.digest, wanted != plan.top.digest {
            throw RegistryError(.archive, "\(destination) names \(wanted.prefixed) but the archive's image is \(plan.top.digest.prefixed)")
        }
        let provenance = try options.provenance.map { file throws(RegistryError) in
            try ProvenanceArtifact(file: file, subject: Descriptor(mediaType: plan.top.mediaType, digest: plan.top.digest, size: plan.top.size))
        }

        let repository = destination.repository
        try await client.checkAccess(repository: repository)
        let blobs = try await sendBlobs(plan.blobs.map { ($0, RegistryClient.BlobSource.file(try layout.blobFile($0.digest))) })
        for child in plan.children {
            _ = try await client.putManifest(repository: repository, reference: child.digest.prefixed,
                                             bytes: Data(try layout.blobBytes(child.digest)), mediaType: child.mediaType)
        }
        let put = try await client.putManifest(repository: repository, reference: destination.manifestReference,
                                               bytes: Data(try layout.blobBytes(plan.top.digest)), mediaType: plan.top.mediaType)
        var result = RegistryPushResult(reference: destination, manifestDigest: put.digest, mediaType: plan.top.mediaType, blobs: blobs,
                                        childManifests: plan.children.map(\.digest), provenance: nil)
        if let provenance { result.provenance = try await attach(provenance, subject: put.digest) }
        return result
    }

    /// Reads the verified layout: exactly one entry in index.json, an image manifest or an
    /// index of image manifests.
    private func plan(_ layout: VerifiedImageLayout) throws -> Plan {
        guard layout.index.manifests.count == 1, let top = layout.index.manifests.first else {
            throw RegistryError(.archive, "not pushing \(layout.name): its index.json lists \(layout.index.manifests.count) manifests; push sends an archive of one image (or one image index)")
        }
        var plan = Plan(top: top)
        var seen = Set<ContentDigest>()
        func addImage(_ descriptor: Descriptor) throws {
            let manifest = try decode(Manifest.self, layout, descriptor)
            for blob in [manifest.config] + manifest.layers where seen.insert(blob.digest).inserted { plan.blobs.append(blob) }
        }
        switch top.mediaType {
        case MediaType.imageManifest, MediaType.dockerManifest:
            try addImage(top)
        case MediaType.imageIndex, MediaType.dockerManifestList:
            let index = try decode(Index.self, layout, top)
            for child in index.manifests {
                guard child.mediaType == MediaType.imageManifest || child.mediaType == MediaType.dockerManifest else {
                    throw RegistryError(.archive, "not pushing \(layout.name): index \(top.digest.prefixed) nests \(child.mediaType) \(child.digest.prefixed); push sends one level of images")
                }
                try addImage(child)
                plan.children.append(child)
            }
        default:
            throw RegistryError(.archive, "not pushing \(layout.name): its index.json names a \(top.mediaType)")
        }
        return plan
    }

    private func decode<T: Decodable>(_ type: T.Type, _ layout: VerifiedImageLayout, _ descriptor: Descriptor) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(layout.blobBytes(descriptor.digest)))
        } catch {
            throw RegistryError(.archive, "not pushing \(layout.name): blob \(descriptor.digest.prefixed) is not a valid \(type)")
        }
    }

    /// HEADs every blob and uploads the missing ones, `maxConcurrentUploads` at a time; the
    /// outcomes in the order given.
    private func sendBlobs(_ blobs: [(Descriptor, RegistryClient.BlobSource)]) async throws -> [RegistryPushResult.Blob] {
        let client = self.client
        let repository = destination.repository
        let chunkSize = options.chunkSize
        let log = options.log
        return try await withThrowingTaskGroup(of: (Int, RegistryPushResult.Blob).self) { group in
            var results = [RegistryPushResult.Blob?](repeating: nil, count: blobs.count)
            var next = 0
            func start() {
                guard next < blobs.count else { return }
                let index = next
                let (descriptor, source) = blobs[index]
                next += 1
                group.addTask {
                    var outcome = RegistryPushResult.Blob(digest: descriptor.digest, size: descriptor.size, mediaType: descriptor.mediaType,
                                                          uploaded: false, chunks: 0)
                    if try await !client.blobExists(repository: repository, digest: descriptor.digest) {
                        outcome.chunks = try await client.uploadBlob(repository: repository, digest: descriptor.digest, size: descriptor.size,
                                                                     source: source, chunkSize: chunkSize)
                        outcome.uploaded = true
                        log?("uploaded \(descriptor.digest.prefixed) (\(RegistryPushResult.bytes(descriptor.size))"
                             + (outcome.chunks > 1 ? " in \(outcome.chunks) chunks)" : ")"))
                    }
                    return (index, outcome)
                }
            }
            for _ in 0..<max(1, options.maxConcurrentUploads) { start() }
            while let (index, outcome) = try await group.next() {
                results[index] = outcome
                start()
            }
            return results.compactMap { $0 }
        }
    }

    /// Uploads the artifact's blobs, PUTs it by digest, and lists it in the referrers tag index
    /// when the registry did not index it itself.
    private func attach(_ artifact: ProvenanceArtifact, subject: ContentDigest) async throws -> RegistryPushResult.Provenance {
        let repository = destination.repository
        let blobs = try await sendBlobs([
            (Descriptor(mediaType: ProvenanceArtifact.emptyMediaType, digest: .of(ProvenanceArtifact.emptyConfig), size: Int64(ProvenanceArtifact.emptyConfig.count)),
             .data(ProvenanceArtifact.emptyConfig)),
            (Descriptor(mediaType: ProvenanceArtifact.envelopeMediaType, digest: artifact.envelopeDigest, size: Int64(artifact.envelope.count)),
             .data(artifact.envelope)),
        ])
        let put = try await client.putManifest(repository: repository, reference: artifact.manifestDigest.prefixed,
                                               bytes: artifact.manifest, mediaType: MediaType.imageManifest)
        var outcome = RegistryPushResult.Provenance(manifestDigest: put.digest, layerDigest: artifact.envelopeDigest, method: .referrersAPI,
                                                    tag: nil, indexUpdated: false, blobs: blobs)
        if put.subject != nil { return outcome }
        let tag = ProvenanceArtifact.referrersTag(subject)
        outcome.method = .referrersTag
        outcome.tag = tag
        let existing = try await client.manifest(repository: repository, reference: tag, accept: [MediaType.imageIndex])
        let updated: Data?
        do {
            updated = try artifact.referrersIndex(adding: existing)
        } catch {
            throw RegistryError(.rejected, "registry \(destination.host): \(repository):\(tag): \(error.message)")
        }
        if let updated {
            _ = try await client.putManifest(repository: repository, reference: tag, bytes: updated, mediaType: MediaType.imageIndex)
            outcome.indexUpdated = true
        }
        return outcome
    }
}
