import Foundation
import MLBuildBasics
import MLBuildCache
import Synchronization
import Testing
@testable import MLBuildRegistry

/// The token dance against a scripted registry (docker-registry on loopback has no token
/// service; the end-to-end tests cover Basic).
final class ScriptedRegistry: RegistryHTTP {
    let seen = Mutex<[String]>([])
    let password: String

    init(password: String) { self.password = password }

    func send(_ request: CurlHTTPRequest) async throws -> CurlHTTPResponse {
        let authorization = request.secretHeader?.value ?? "-"
        let path = URLComponents(url: request.url, resolvingAgainstBaseURL: true)?.path ?? "?"
        seen.withLock { $0.append("\(request.method) \(path) \(authorization)") }
        if request.url.host == "auth.example.com" {
            let good = "Basic " + Data("dave:\(password)".utf8).base64EncodedString()
            guard authorization == good else {
                return CurlHTTPResponse(status: 401, body: Data(#"{"errors":[{"code":"UNAUTHORIZED","message":"bad"}]}"#.utf8))
            }
            #expect(request.url.query?.contains("scope=repository:team/app:pull,push") == true)
            return CurlHTTPResponse(status: 200, body: Data(#"{"token":"T0K"}"#.utf8))
        }
        guard authorization == "Bearer T0K" else {
            return CurlHTTPResponse(status: 401, body: Data(), headers: [
                ("WWW-Authenticate", #"Bearer realm="https://auth.example.com/token",service="reg""#),
            ])
        }
        if request.method == "HEAD" { return CurlHTTPResponse(status: 404, body: Data()) }
        return CurlHTTPResponse(status: 200, body: Data())
    }
}

@Suite struct RegistryClientTests {
    @Test func bearerTokensAreFetchedOncePerScopeWithTheBasicCredentials() async throws {
        let http = ScriptedRegistry(password: "pw1")
        let credentials = RegistryCredentials(secret: .basic(username: "dave", password: "pw1"), source: "test")
        let client = try RegistryClient(host: "reg.example.com", scheme: .https, credentials: credentials, http: http)
        try await client.checkAccess(repository: "team/app")
        let digest = ContentDigest.of("x")
        #expect(try await client.blobExists(repository: "team/app", digest: digest) == false)
        #expect(http.seen.withLock { $0 } == [
            "GET /v2/ -",
            "GET /token Basic " + Data("dave:pw1".utf8).base64EncodedString(),
            "GET /v2/ Bearer T0K",
            "HEAD /v2/team/app/blobs/\(digest.prefixed) Bearer T0K",
        ])
    }

    @Test func aRefusedTokenRequestNamesTheUserNotThePassword() async throws {
        let http = ScriptedRegistry(password: "right")
        let credentials = RegistryCredentials(secret: .basic(username: "dave", password: "wrong-pw"), source: "MLBUILD_REGISTRY_AUTH")
        let client = try RegistryClient(host: "reg.example.com", scheme: .https, credentials: credentials, http: http)
        await #expect {
            try await client.checkAccess(repository: "team/app")
        } throws: { error in
            let error = error as? RegistryError
            return error?.kind == .unauthorized && error?.message.contains("wrong-pw") == false
                && error?.message == "registry https://reg.example.com: the token service refused user 'dave' (from MLBUILD_REGISTRY_AUTH): token request to https://auth.example.com/token answered 401: UNAUTHORIZED: bad"
        }
    }

    @Test func theProvenanceArtifactManifestIsStable() throws {
        let subject = MLBuildOCIDescriptorFixture.subject
        let manifest = ProvenanceArtifact.manifest(
            envelope: .init(mediaType: ProvenanceArtifact.envelopeMediaType, digest: .of("e"), size: 1), subject: subject)
        #expect(String(decoding: manifest, as: UTF8.self) == """
            {"artifactType":"application/vnd.in-toto+json","config":{"digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","mediaType":"application/vnd.oci.empty.v1+json","size":2},"layers":[{"digest":"\(ContentDigest.of("e").prefixed)","mediaType":"application/vnd.dsse.envelope.v1+json","size":1}],"mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2,"subject":{"digest":"\(subject.digest.prefixed)","mediaType":"application/vnd.oci.image.manifest.v1+json","size":7}}
            """)
        #expect(ProvenanceArtifact.referrersTag(subject.digest) == "sha256-" + subject.digest.hex)
    }
}

import MLBuildOCI

enum MLBuildOCIDescriptorFixture {
    static let subject = Descriptor(mediaType: MediaType.imageManifest, digest: .of("subject"), size: 7)
}
