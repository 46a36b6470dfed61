import Foundation
import MLBuildTestSupport
import Testing

/// `mlbuild push` against Debian's docker-registry (distribution 2.8) on loopback, read back with
/// skopeo: digests kept, nothing uploaded twice, chunked uploads, basic auth, the provenance
/// referrer (2.8 has no referrers API: the `sha256-<hex>` tag index), and what is refused.
@Suite("mlbuild push", .serialized)
struct RegistryPushTests {
    static let noEpoch: [String: String?] = ["SOURCE_DATE_EPOCH": nil, "MLBUILD_REGISTRY_AUTH": nil, "DOCKER_CONFIG": nil]

    /// A built container workspace and its manifest digest (`build/container/app/digest`).
    static func builtWorkspace() throws -> (MLBuildWorkspace, String) {
        let ws = try ContainerFixtures.workspace()
        let build = try ws.build(["container:app"], environment: noEpoch)
        #expect(build.result.status == 0, "\(build.result.output)")
        let digest = try ws.read("build/container/app/digest").trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(digest.hasPrefix("sha256:") && digest.count == 71, "digest file: \(digest)")
        return (ws, digest)
    }

    static func push(_ ws: MLBuildWorkspace, _ arguments: [String], environment: [String: String?] = [:]) throws -> ProcessResult {
        var env = noEpoch
        for (k, v) in environment { env[k] = v }
        return try ws.run(["push"] + arguments, environment: env)
    }

    static func skopeo(_ arguments: [String]) throws -> ProcessResult {
        guard let skopeo = ContainerFixtures.tool("skopeo") else { throw CancellationError() }
        return try ProcessRunner.run(skopeo, arguments)
    }

    static func blobs(_ json: [String: Any]) -> [[String: Any]] { (json["blobs"] as? [[String: Any]]) ?? [] }

    @Test(.timeLimit(.minutes(3))) func pushBuildsTheTargetKeepsTheDigestAndUploadsNothingTwice() throws {
        let registry = try DockerRegistryServer()
        let ws = try ContainerFixtures.workspace()
        let destination = "\(registry.host)/churn/app:1.0"
        // Not built yet: push builds it first, as `mlbuild build container:app` would. The image
        // alone (the provenance the build writes beside it is the referrer test's subject).
        let first = try Self.push(ws, ["container:app", destination, "--insecure", "--json", "--no-provenance"])
        #expect(first.status == 0, "\(first.output)")
        let digest = try ws.read("build/container/app/digest").trimmingCharacters(in: .whitespacesAndNewlines)
        let json = try ContainerFixtures.json(first.stdout)
        #expect(json["digest"] as? String == digest)
        #expect(json["reference"] as? String == destination)
        #expect(json["provenance"] is NSNull)
        let manifest = try ContainerFixtures.manifest("\(ws.path)/build/container/app/image.tar")
        let config = try #require((manifest["config"] as? [String: Any])?["digest"] as? String)
        let expected = [config] + ContainerFixtures.layerDigests(manifest)
        #expect(Self.blobs(json).compactMap { $0["digest"] as? String } == expected)
        #expect(Self.blobs(json).allSatisfy { $0["uploaded"] as? Bool == true })
        let sizes = Self.blobs(json).compactMap { ($0["size"] as? NSNumber)?.int64Value }
        #expect((json["bytes_uploaded"] as? NSNumber)?.int64Value == sizes.reduce(0, +))
        #expect(registry.blobUploadRequests().filter { $0.method == "POST" }.count == expected.count)

        let inspect = try Self.skopeo(["inspect", "--tls-verify=false", "docker://\(destination)"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(try ContainerFixtures.json(inspect.stdout)["Digest"] as? String == digest)

        // Pulled back by skopeo, the archive verifies with the same manifest digest.
        let pulled = "\(ws.path)/pulled.tar"
        let copy = try Self.skopeo(["copy", "--insecure-policy", "--src-tls-verify=false", "docker://\(destination)", "oci-archive:\(pulled):1.0"])
        #expect(copy.status == 0, "\(copy.stderr)")
        let verify = try ws.run(["container", "verify", pulled])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(verify.stdout.contains("manifest \(digest)"), "\(verify.stdout)")

        // Again (no rebuild): every blob is found present, none is uploaded.
        let uploadsBefore = registry.blobUploadRequests().count
        let second = try Self.push(ws, ["container:app", destination, "--insecure", "--json", "--no-provenance"])
        #expect(second.status == 0, "\(second.output)")
        let again = try ContainerFixtures.json(second.stdout)
        #expect(again["digest"] as? String == digest)
        #expect(Self.blobs(again).count == expected.count)
        #expect(Self.blobs(again).allSatisfy { $0["uploaded"] as? Bool == false })
        #expect((again["bytes_uploaded"] as? NSNumber)?.int64Value == 0)
        #expect(registry.blobUploadRequests().count == uploadsBefore, "\(registry.blobUploadRequests())")

        // The human line says the same.
        let plain = try Self.push(ws, ["container:app", destination, "--insecure", "--no-provenance"])
        #expect(plain.status == 0, "\(plain.output)")
        #expect(plain.stdout == "pushed \(destination) \(digest) (\(expected.count) blobs: 0 uploaded 0 B, \(expected.count) already present)\n")
    }

    @Test(.timeLimit(.minutes(3))) func chunkedUploadsGiveTheSameDigest() throws {
        let registry = try DockerRegistryServer()
        let (ws, digest) = try Self.builtWorkspace()
        let destination = "\(registry.host)/churn/chunked:2"
        // An archive path this time, and chunks of 16 000 bytes: the 64 KiB weights layer needs several.
        let result = try Self.push(ws, ["build/container/app/image.tar", destination, "--insecure", "--json", "--chunk-size", "16000"])
        #expect(result.status == 0, "\(result.output)")
        let json = try ContainerFixtures.json(result.stdout)
        #expect(json["digest"] as? String == digest)
        let big = Self.blobs(json).filter { (($0["size"] as? NSNumber)?.int64Value ?? 0) > 16000 }
        #expect(!big.isEmpty)
        let patches = registry.blobUploadRequests().filter { $0.method == "PATCH" }
        let expectedPatches = big.compactMap { ($0["size"] as? NSNumber)?.int64Value }.map { Int(($0 + 15999) / 16000) }.reduce(0, +)
        #expect(patches.count == expectedPatches, "\(registry.blobUploadRequests())")
        #expect(patches.allSatisfy { $0.status == 202 })
        let inspect = try Self.skopeo(["inspect", "--tls-verify=false", "docker://\(destination)"])
        #expect(try ContainerFixtures.json(inspect.stdout)["Digest"] as? String == digest)
        let pulled = "\(ws.path)/chunked.tar"
        let copy = try Self.skopeo(["copy", "--insecure-policy", "--src-tls-verify=false", "docker://\(destination)", "oci-archive:\(pulled):2"])
        #expect(copy.status == 0, "\(copy.stderr)")
        let verify = try ws.run(["container", "verify", pulled])
        #expect(verify.status == 0 && verify.stdout.contains("manifest \(digest)"), "\(verify.output)")
    }

    @Test(.timeLimit(.minutes(3))) func zstdLayersArePushedAndPulledBackAsTheyAre() throws {
        let registry = try DockerRegistryServer()
        let ws = try ContainerFixtures.workspace(mlfile: ContainerFixtures.mlfile + "\n    compression = zstd\n")
        let destination = "\(registry.host)/churn/zstd:1"
        let result = try Self.push(ws, ["container:app", destination, "--insecure", "--json", "--no-provenance"])
        #expect(result.status == 0, "\(result.output)")
        let digest = try ws.read("build/container/app/digest").trimmingCharacters(in: .whitespacesAndNewlines)
        let json = try ContainerFixtures.json(result.stdout)
        #expect(json["digest"] as? String == digest)
        let layerTypes = Self.blobs(json).compactMap { $0["media_type"] as? String }.filter { $0.contains("layer") }
        #expect(layerTypes == Array(repeating: "application/vnd.oci.image.layer.v1.tar+zstd", count: 3))
        let pulled = "\(ws.path)/pulled.tar"
        let copy = try Self.skopeo(["copy", "--insecure-policy", "--src-tls-verify=false", "docker://\(destination)", "oci-archive:\(pulled):1"])
        #expect(copy.status == 0, "\(copy.stderr)")
        let verify = try ws.run(["container", "verify", pulled])
        #expect(verify.status == 0 && verify.stdout.contains("manifest \(digest)"), "\(verify.output)")
    }

    /// A DSSE envelope of an in-toto statement about `digest` (unsigned: push does not sign).
    static func provenance(subject digest: String) -> String {
        let statement = """
            {"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"app","digest":{"sha256":"\(digest.dropFirst("sha256:".count))"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"buildDefinition":{"buildType":"https://mlbuild.dev/container"}}}
            """
        return """
            {"payloadType":"application/vnd.in-toto+json","payload":"\(Data(statement.utf8).base64EncodedString())","signatures":[]}
            """
    }

    @Test(.timeLimit(.minutes(3))) func provenanceIsAttachedAsAReferrerThroughTheReferrersTag() throws {
        let registry = try DockerRegistryServer()
        let (ws, digest) = try Self.builtWorkspace()
        // The container rule wrote it next to image.tar, where push looks for it.
        let provenanceDigest = try ContainerFixtures.sha256("\(ws.path)/build/container/app/provenance.json")
        let destination = "\(registry.host)/churn/app:1.0"
        let result = try Self.push(ws, ["container:app", destination, "--insecure", "--json"])
        #expect(result.status == 0, "\(result.output)")
        let json = try ContainerFixtures.json(result.stdout)
        let provenance = try #require(json["provenance"] as? [String: Any], "\(result.stdout)")
        let tag = "sha256-" + digest.dropFirst("sha256:".count)
        #expect(provenance["method"] as? String == "referrers-tag")
        #expect(provenance["tag"] as? String == tag)
        #expect(provenance["layer"] as? String == provenanceDigest)
        #expect(provenance["index_updated"] as? Bool == true)
        let artifact = try #require(provenance["digest"] as? String)

        // The referrers tag index lists the artifact; the artifact names the image as subject.
        let index = try Self.skopeo(["inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/churn/app:\(tag)"])
        #expect(index.status == 0, "\(index.stderr)")
        let entries = (try ContainerFixtures.json(index.stdout)["manifests"] as? [[String: Any]]) ?? []
        #expect(entries.count == 1)
        #expect(entries.first?["digest"] as? String == artifact)
        #expect(entries.first?["artifactType"] as? String == "application/vnd.in-toto+json")
        let raw = try Self.skopeo(["inspect", "--raw", "--tls-verify=false", "docker://\(registry.host)/churn/app@\(artifact)"])
        #expect(raw.status == 0, "\(raw.stderr)")
        let manifest = try ContainerFixtures.json(raw.stdout)
        #expect((manifest["subject"] as? [String: Any])?["digest"] as? String == digest)
        #expect(manifest["artifactType"] as? String == "application/vnd.in-toto+json")
        #expect((manifest["config"] as? [String: Any])?["digest"] as? String
            == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
        let layer = try #require((manifest["layers"] as? [[String: Any]])?.first)
        #expect(layer["digest"] as? String == provenanceDigest)
        #expect(layer["mediaType"] as? String == "application/vnd.dsse.envelope.v1+json")
        #expect(try ContainerFixtures.sha256FromString(raw.stdout) == artifact)

        let plain = try Self.push(ws, ["container:app", destination, "--insecure"])
        #expect(plain.status == 0, "\(plain.output)")
        #expect(plain.stdout.hasSuffix("; provenance \(artifact) attached as referrer (referrers tag \(tag), already listed)\n"), "\(plain.stdout)")
        let again = try ContainerFixtures.json(try Self.push(ws, ["container:app", destination, "--insecure", "--json"]).stdout)
        let againProvenance = try #require(again["provenance"] as? [String: Any])
        #expect(againProvenance["index_updated"] as? Bool == false)
        #expect(((againProvenance["blobs"] as? [[String: Any]]) ?? []).allSatisfy { $0["uploaded"] as? Bool == false })

        // Provenance about another image is refused before anything is sent.
        try ws.write("other.json", Self.provenance(subject: "sha256:" + String(repeating: "ab", count: 32)))
        let wrong = try Self.push(ws, ["container:app", "\(registry.host)/churn/other:1", "--insecure", "--provenance", "other.json"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("provenance '") && wrong.stderr.contains("not the image \(digest) being pushed"), "\(wrong.stderr)")
        #expect(!registry.requests().contains { $0.path.contains("/churn/other/") })
    }

    @Test(.timeLimit(.minutes(3))) func basicAuthFromTheEnvironmentOrDockerConfigAndWrongPasswordsAreNamedNotShown() throws {
        let password = "pw-9f3c-secret"
        let registry = try DockerRegistryServer(htpasswd: ("alice", password))
        let (ws, digest) = try Self.builtWorkspace()
        let destination = "\(registry.host)/churn/app:auth"

        let anonymous = try Self.push(ws, ["container:app", destination, "--insecure"])
        #expect(anonymous.status == 1)
        #expect(anonymous.stderr.contains("registry http://\(registry.host) requires authentication"), "\(anonymous.stderr)")

        let wrong = try Self.push(ws, ["container:app", destination, "--insecure"], environment: ["MLBUILD_REGISTRY_AUTH": "alice:not-\(password)"])
        #expect(wrong.status == 1)
        #expect(wrong.stderr.contains("registry http://\(registry.host) refused user 'alice' (from MLBUILD_REGISTRY_AUTH)"), "\(wrong.stderr)")
        #expect(!wrong.output.contains(password))
        #expect(registry.blobUploadRequests().isEmpty, "nothing is uploaded before access is checked")

        let right = try Self.push(ws, ["container:app", destination, "--insecure", "--json"], environment: ["MLBUILD_REGISTRY_AUTH": "alice:\(password)"])
        #expect(right.status == 0, "\(right.output)")
        #expect(try ContainerFixtures.json(right.stdout)["digest"] as? String == digest)

        // A docker config.json's auths entry (base64 user:password), MLBUILD_REGISTRY_AUTH unset.
        let config = try TemporaryDirectory(prefix: "mlbuild-docker-config")
        let auth = Data("alice:\(password)".utf8).base64EncodedString()
        try config.write("config.json", #"{"auths":{"http://\#(registry.host)":{"auth":"\#(auth)"}}}"#)
        let fromConfig = try Self.push(ws, ["container:app", "\(registry.host)/churn/app:config", "--insecure", "--json"],
                                       environment: ["DOCKER_CONFIG": config.path])
        #expect(fromConfig.status == 0, "\(fromConfig.output)")
        let json = try ContainerFixtures.json(fromConfig.stdout)
        #expect(Self.blobs(json).allSatisfy { $0["uploaded"] as? Bool == false }, "same repository: nothing uploaded again")
        let inspect = try Self.skopeo(["inspect", "--tls-verify=false", "--creds", "alice:\(password)", "docker://\(registry.host)/churn/app:config"])
        #expect(try ContainerFixtures.json(inspect.stdout)["Digest"] as? String == digest)
    }

    @Test(.timeLimit(.minutes(3))) func plainHTTPBadReferencesAndCorruptArchivesAreRefusedBeforeAnyUpload() throws {
        let registry = try DockerRegistryServer()
        let (ws, _) = try Self.builtWorkspace()

        let http = try Self.push(ws, ["container:app", "http://\(registry.host)/churn/app:1"])
        #expect(http.status == 2)
        #expect(http.stderr.contains("error: refusing plain HTTP to \(registry.host) without --insecure"), "\(http.stderr)")

        // No scheme and no --insecure: https, which a plain-HTTP registry cannot answer.
        let tls = try Self.push(ws, ["container:app", "\(registry.host)/churn/app:1"])
        #expect(tls.status == 1)
        #expect(tls.stderr.contains("cannot reach registry https://\(registry.host)") && tls.stderr.contains("needs --insecure"), "\(tls.stderr)")

        let malformed = try Self.push(ws, ["container:app", "churn/App:1", "--insecure"])
        #expect(malformed.status == 2)
        #expect(malformed.stderr.contains("invalid registry reference 'churn/App:1': 'churn' is not a registry host"), "\(malformed.stderr)")

        let unreachable = try Self.push(ws, ["container:app", "127.0.0.1:1/churn/app:1", "--insecure"])
        #expect(unreachable.status == 1)
        #expect(unreachable.stderr.contains("cannot reach registry http://127.0.0.1:1"), "\(unreachable.stderr)")

        // One flipped byte in a layer blob: refused, naming the blob, nothing sent.
        let corrupt = "\(ws.path)/corrupt.tar"
        try FileManager.default.copyItem(atPath: "\(ws.path)/build/container/app/image.tar", toPath: corrupt)
        let layer = try #require(ContainerFixtures.layerDigests(try ContainerFixtures.manifest(corrupt)).first)
        try ContainerFixtures.flipByte(ofBlob: layer, in: corrupt)
        let refused = try Self.push(ws, ["corrupt.tar", "\(registry.host)/churn/app:1", "--insecure"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("not pushing") && refused.stderr.contains("\(layer): digest did not match"), "\(refused.stderr)")
        #expect(registry.requests().isEmpty, "\(registry.requests())")

        let missing = try Self.push(ws, ["nowhere/image.tar", "\(registry.host)/churn/app:1", "--insecure"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("no image archive at 'nowhere/image.tar'"), "\(missing.stderr)")
    }
}

extension ContainerFixtures {
    static func sha256FromString(_ text: String) throws -> String {
        let result = try ProcessRunner.run("/usr/bin/sha256sum", ["-"], stdin: text)
        return "sha256:" + (result.stdout.split(separator: " ").first.map(String.init) ?? "")
    }
}
