import Foundation
import MLBuildTestSupport
import Testing

@Suite struct ProvenanceCommandTests {
    @Test func aSignedBuildVerifiesAndNamesItsSourceBytes() throws {
        let ws = try ReleaseFixtures.workspace()
        let keygen = try ws.run(["keygen", "--output", "release"])
        #expect(keygen.status == 0, "\(keygen.output)")
        #expect(keygen.stdout.contains("key id "))
        let mode = try FileManager.default.attributesOfItem(atPath: "\(ws.path)/release.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try ws.run(["keygen", "--output", "release"]).status == 2, "keygen must not replace a key")

        let build = try ws.build(["container:app", "--signing-key", "release.key"])
        #expect(build.result.status == 0, "\(build.result.output)")
        #expect(build.result.output.contains("provenance build/container/app/provenance.json: signed by"))

        let verify = try ws.run(["provenance", "verify", "build/container/app/image.tar", "--public-key", "release.pub", "--json"])
        #expect(verify.status == 0, "\(verify.output)")
        let report = try ReleaseFixtures.json(verify.stdout)
        #expect(report["valid"] as? Bool == true)
        #expect(report["subject"] as? String == (try ReleaseFixtures.digest(ws)))
        #expect(report["matched"] as? [String] == ["data/rows.csv"])

        // The statement: subject, source digest, values, builder, and no time without SOURCE_DATE_EPOCH.
        let envelope = try MLFixtures.json(ws, "build/container/app/provenance.json")
        #expect(envelope["payloadType"] as? String == "application/vnd.in-toto+json")
        let payload = try #require(Data(base64Encoded: envelope["payload"] as? String ?? ""))
        let statement = try #require(try JSONSerialization.jsonObject(with: payload) as? [String: Any])
        #expect(statement["_type"] as? String == "https://in-toto.io/Statement/v1")
        #expect(statement["predicateType"] as? String == "https://slsa.dev/provenance/v1")
        let subject = try #require((statement["subject"] as? [[String: Any]])?.first)
        #expect("sha256:" + ((subject["digest"] as? [String: String])?["sha256"] ?? "") == (try ReleaseFixtures.digest(ws)))
        let predicate = try #require(statement["predicate"] as? [String: Any])
        let definition = try #require(predicate["buildDefinition"] as? [String: Any])
        let dependencies = try #require(definition["resolvedDependencies"] as? [[String: Any]])
        let csv = try #require(dependencies.first { $0["uri"] as? String == "file:data/rows.csv" })
        #expect((csv["digest"] as? [String: String])?["sha256"] == (try ReleaseFixtures.sha256(ws, "data/rows.csv")))
        #expect(dependencies.contains { ($0["uri"] as? String)?.hasPrefix("mlbuild:") == true })
        #expect(((definition["externalParameters"] as? [String: Any])?["values"] as? [String: String])?["tag"] == "app-1.0")
        let metadata = (predicate["runDetails"] as? [String: Any])?["metadata"] as? [String: Any]
        #expect(metadata?["startedOn"] == nil)

        // The private key is nowhere but its file: not in outputs, state, cache, history or output.
        let keyBody = try ws.read("release.key").split(separator: "\n")[1]
        let grep = try ProcessRunner.shell("grep -rl -F '\(keyBody)' build .mlbuild cache 2>/dev/null; true", in: ws.path)
        #expect(grep.stdout.isEmpty, "the private key leaked into \(grep.stdout)")
        #expect(!build.result.output.contains(String(keyBody)) && !build.eventsText.contains(String(keyBody)))
    }

    @Test func sameInputsAndKeyGiveTheSameBytes() throws {
        let a = try ReleaseFixtures.workspace()
        try a.run(["keygen", "--output", "k"])
        let b = try ReleaseFixtures.workspace()
        try FileManager.default.copyItem(atPath: "\(a.path)/k.key", toPath: "\(b.path)/k.key")
        for ws in [a, b] {
            let build = try ws.build(["container:app"], environment: ["MLBUILD_SIGNING_KEY_FILE": "k.key", "SOURCE_DATE_EPOCH": "1700000000"])
            #expect(build.result.status == 0, "\(build.result.output)")
        }
        #expect(try MLFixtures.bytes(a, "build/container/app/provenance.json") == MLFixtures.bytes(b, "build/container/app/provenance.json"))
        // status reads MLBUILD_SIGNING_KEY_FILE as the build did; without it, it says why the image is stale.
        let status = try a.run(["status", "container:app"], environment: ["MLBUILD_SIGNING_KEY_FILE": "k.key", "SOURCE_DATE_EPOCH": "1700000000"])
        #expect(status.stdout.contains("fresh    container:app"), "\(status.output)")
        let unkeyed = try a.run(["status", "container:app"], environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        #expect(unkeyed.stdout.contains("stale    container:app: parameter derived.signing changed"), "\(unkeyed.output)")
        let statement = try a.read("build/container/app/provenance.json")
        #expect(statement.contains("\"signatures\": [\n    {"))
        // SOURCE_DATE_EPOCH is the one time the provenance holds.
        let envelope = try MLFixtures.json(a, "build/container/app/provenance.json")
        let payload = String(decoding: try #require(Data(base64Encoded: envelope["payload"] as? String ?? "")), as: UTF8.self)
        #expect(payload.contains("\"startedOn\":\"2023-11-14T22:13:20Z\""))

        // Another key re-signs: the key's id is part of the container's key, not the key itself.
        try a.run(["keygen", "--output", "other"])
        let resigned = try a.build(["container:app", "--signing-key", "other.key"], environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        #expect(resigned.statuses["container:app"] == "built")
        #expect(try a.run(["provenance", "verify", "build/container/app/image.tar", "--public-key", "other.pub"]).status == 0)
        let old = try a.run(["provenance", "verify", "build/container/app/image.tar", "--public-key", "k.pub"])
        #expect(old.status == 1 && old.stderr.contains("not signed by key"), "\(old.output)")
    }

    @Test func unsignedIsSaidAndTamperingIsFound() throws {
        let ws = try ReleaseFixtures.workspace()
        let build = try ws.build(["container:app"], environment: ["MLBUILD_SIGNING_KEY_FILE": nil])
        #expect(build.result.output.contains("provenance build/container/app/provenance.json: unsigned"))
        try ws.run(["keygen", "--output", "k"])
        let unsigned = try ws.run(["provenance", "verify", "build/container/app/image.tar", "--public-key", "k.pub"])
        #expect(unsigned.status == 1 && unsigned.stderr.contains("unsigned"), "\(unsigned.output)")

        #expect(try ws.build(["container:app", "--signing-key", "k.key"]).result.status == 0)
        let verify = ["provenance", "verify", "build/container/app/image.tar", "--public-key", "k.pub"]
        #expect(try ws.run(verify).status == 0)
        let original = try MLFixtures.bytes(ws, "build/container/app/provenance.json")

        // One byte of the payload (re-encoded), then of the signature.
        var envelope = try MLFixtures.json(ws, "build/container/app/provenance.json")
        var payload = try #require(Data(base64Encoded: envelope["payload"] as? String ?? ""))
        payload[payload.count / 2] ^= 0x01
        envelope["payload"] = payload.base64EncodedString()
        try ws.directory.write("build/container/app/provenance.json", try JSONSerialization.data(withJSONObject: envelope))
        let payloadRun = try ws.run(verify)
        #expect(payloadRun.status == 1 && payloadRun.stderr.contains("does not verify"), "\(payloadRun.output)")

        envelope = try ReleaseFixtures.json(String(decoding: original, as: UTF8.self))
        var signatures = try #require(envelope["signatures"] as? [[String: String]])
        var signature = try #require(Data(base64Encoded: signatures[0]["sig"] ?? ""))
        signature[5] ^= 0x01
        signatures[0]["sig"] = signature.base64EncodedString()
        envelope["signatures"] = signatures
        try ws.directory.write("build/container/app/provenance.json", try JSONSerialization.data(withJSONObject: envelope))
        #expect(try ws.run(verify).status == 1)

        // One byte of the image.
        try ws.directory.write("build/container/app/provenance.json", original)
        var image = try MLFixtures.bytes(ws, "build/container/app/image.tar")
        let at = try #require(image.range(of: Data("application/vnd.oci.image.layer".utf8)))
        image[at.lowerBound + 3] ^= 0x01
        try ws.directory.write("build/container/app/image.tar", image)
        #expect(try ws.run(verify).status == 1)

        // A changed source file is named.
        #expect(try ws.build(["container:app", "--signing-key", "k.key"]).result.status == 0)
        try ws.write("data/rows.csv", MLFixtures.csv(rows: 401))
        let changed = try ws.run(verify)
        #expect(changed.status == 1 && changed.stdout.contains("CHANGED  data/rows.csv"), "\(changed.output)")
    }

    @Test func aBadSigningKeyIsAnErrorNamingTheFile() throws {
        let ws = try ReleaseFixtures.workspace()
        try ws.write("bad.key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
        let run = try ws.run(["container:app", "--signing-key", "bad.key"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("the signing key 'bad.key' is not an Ed25519 private key"), "\(run.stderr)")
        #expect(!ws.exists("build/container/app/image.tar"))
    }
}
