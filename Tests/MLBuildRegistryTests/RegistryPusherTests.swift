import Foundation
import MLBuildBasics
import MLBuildCache
import MLBuildOCI
import Synchronization
import Testing
@testable import MLBuildRegistry

/// An in-memory registry that speaks the referrers API (it answers `OCI-Subject`), which
/// docker-registry 2.8 on loopback does not: the other branch of the provenance push.
final class ReferrersRegistry: RegistryHTTP {
    struct State {
        var blobs: [String: Data] = [:]
        var manifests: [String: Data] = [:]
        var uploads: [String: Data] = [:]
        var log: [String] = []
    }
    let state = Mutex(State())

    func send(_ request: CurlHTTPRequest) async throws -> CurlHTTPResponse {
        let components = URLComponents(url: request.url, resolvingAgainstBaseURL: true)
        let path = components?.path ?? ""
        var body = request.body ?? Data()
        if let file = request.file {
            let whole = try Data(contentsOf: file.url)
            body = whole.subdata(in: Int(file.offset)..<Int(file.offset + (file.length ?? Int64(whole.count) - file.offset)))
        }
        return state.withLock { s -> CurlHTTPResponse in
            s.log.append("\(request.method) \(path)")
            if path == "/v2/" { return CurlHTTPResponse(status: 200, body: Data()) }
            if path.contains("/blobs/uploads/") {
                let id = path.hasSuffix("/uploads/") ? "u\(s.uploads.count)" : String(path.split(separator: "/").last ?? "")
                if request.method == "POST" {
                    s.uploads[id] = Data()
                    return CurlHTTPResponse(status: 202, body: Data(), headers: [("Location", "/v2/app/blobs/uploads/\(id)")])
                }
                s.uploads[id, default: Data()].append(body)
                let data = s.uploads[id] ?? Data()
                if request.method == "PATCH" {
                    return CurlHTTPResponse(status: 202, body: Data(), headers: [("Location", "/v2/app/blobs/uploads/\(id)"), ("Range", "0-\(data.count - 1)")])
                }
                let digest = components?.queryItems?.first { $0.name == "digest" }?.value ?? ""
                guard ContentDigest.of(data).prefixed == digest else { return CurlHTTPResponse(status: 400, body: Data(#"{"errors":[{"code":"DIGEST_INVALID"}]}"#.utf8)) }
                s.blobs[digest] = data
                return CurlHTTPResponse(status: 201, body: Data(), headers: [("Docker-Content-Digest", digest)])
            }
            if path.contains("/blobs/") {
                let digest = String(path.split(separator: "/").last ?? "")
                return CurlHTTPResponse(status: s.blobs[digest] == nil ? 404 : 200, body: Data())
            }
            if path.contains("/manifests/") {
                let reference = String(path.split(separator: "/").last ?? "")
                if request.method == "PUT" {
                    s.manifests[reference] = body
                    let digest = ContentDigest.of(body).prefixed
                    var headers = [("Docker-Content-Digest", digest)]
                    let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
                    if let subject = (object?["subject"] as? [String: Any])?["digest"] as? String { headers.append(("OCI-Subject", subject)) }
                    return CurlHTTPResponse(status: 201, body: Data(), headers: headers)
                }
                guard let stored = s.manifests[reference] else { return CurlHTTPResponse(status: 404, body: Data()) }
                return CurlHTTPResponse(status: 200, body: stored)
            }
            return CurlHTTPResponse(status: 404, body: Data())
        }
    }
}

@Suite struct RegistryPusherTests {
    /// A one-image layout directory: an uncompressed 100 000-byte layer, so its diff_id is its digest.
    static func layout() throws -> (URL, ContentDigest, Data) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("mlbuild-push-layout-\(UUID().uuidString)")
        let blobs = root.appendingPathComponent("blobs/sha256")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        func write(_ data: Data) throws -> ContentDigest {
            let digest = ContentDigest.of(data)
            try data.write(to: blobs.appendingPathComponent(digest.hex))
            return digest
        }
        let layer = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let layerDigest = try write(layer)
        let config = Data(#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["\#(layerDigest.prefixed)"]}}"#.utf8)
        let configDigest = try write(config)
        let manifest = Data(#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\#(configDigest.prefixed)","size":\#(config.count)},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"\#(layerDigest.prefixed)","size":\#(layer.count)}]}"#.utf8)
        let manifestDigest = try write(manifest)
        try Data(#"{"imageLayoutVersion":"1.0.0"}"#.utf8).write(to: root.appendingPathComponent("oci-layout"))
        try Data(#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\#(manifestDigest.prefixed)","size":\#(manifest.count)}]}"#.utf8)
            .write(to: root.appendingPathComponent("index.json"))
        return (root, manifestDigest, layer)
    }

    @Test func chunkedUploadsAndTheReferrersAPI() async throws {
        let (root, manifestDigest, layer) = try Self.layout()
        defer { try? FileManager.default.removeItem(at: root) }
        let statement = #"{"subject":[{"name":"x","digest":{"sha256":"\#(manifestDigest.hex)"}}]}"#
        let provenance = root.appendingPathComponent("provenance.json")
        try Data(#"{"payloadType":"application/vnd.in-toto+json","payload":"\#(Data(statement.utf8).base64EncodedString())","signatures":[]}"#.utf8)
            .write(to: provenance)
        let http = ReferrersRegistry()
        let pusher = try RegistryPusher(destination: RegistryReference(parsing: "reg.example.com/app:1"), credentials: nil,
                                        options: RegistryPushOptions(chunkSize: 30_000, provenance: provenance), http: http)
        let result = try await pusher.push(archive: root)
        #expect(result.manifestDigest == manifestDigest)
        #expect(result.blobs.map(\.chunks) == [1, 4])
        #expect(result.provenance?.method == .referrersAPI && result.provenance?.tag == nil)
        let stored = http.state.withLock { $0 }
        #expect(stored.blobs[ContentDigest.of(layer).prefixed] == layer)
        #expect(stored.log.filter { $0.hasPrefix("PATCH") }.count == 4)
        #expect(stored.manifests["1"].map(ContentDigest.of) == manifestDigest)
        // No referrers tag index with the API: the artifact is only PUT by digest.
        #expect(stored.manifests.keys.sorted() == ["1", result.provenance?.manifestDigest.prefixed ?? "?"].sorted())
        #expect(result.bytesUploaded == Int64(layer.count) + result.blobs[0].size + 2 + (result.provenance?.blobs[1].size ?? 0))

        let again = try await pusher.push(archive: root)
        #expect(again.bytesUploaded == 0 && again.blobs.allSatisfy { !$0.uploaded })
    }
}
