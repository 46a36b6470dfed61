import Foundation
import MLBuildBasics
import MLBuildOCI
@testable import MLBuildProvenance
import MLBuildTestSupport
import Testing

@Suite struct SigningKeyTests {
    @Test func keysRoundTripThroughPEMAndOpenSSLReadsThem() throws {
        let dir = try TemporaryDirectory()
        let key = SigningKey.generate()
        try dir.write("k.key", key.pem)
        try dir.write("k.pub", key.publicKey.pem)
        let reread = try SigningKey(contentsOf: dir.url("k.key").path)
        #expect(reread.publicKey == key.publicKey)
        #expect(try VerifyingKey(contentsOf: dir.url("k.pub").path) == key.publicKey)

        // OpenSSL derives the same public key from our private key file and verifies our signature.
        let openssl = try #require(ProcessRunner.which("openssl"), "openssl is needed (apt-get install -y openssl)")
        let derived = try ProcessRunner.run(openssl, ["pkey", "-in", dir.url("k.key").path, "-pubout"])
        #expect(derived.status == 0, "\(derived.stderr)")
        #expect(derived.stdout == key.publicKey.pem)
        let message = Array("DSSEv1 28 application/vnd.in-toto+json 2 {}".utf8)
        try dir.write("m", Data(message))
        try dir.write("m.sig", Data(try key.sign(message)))
        let verified = try ProcessRunner.run(openssl, ["pkeyutl", "-verify", "-pubin", "-inkey", dir.url("k.pub").path, "-rawin",
                                                       "-in", dir.url("m").path, "-sigfile", dir.url("m.sig").path])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
    }

    @Test func aKeyFromOpenSSLIsRead() throws {
        let dir = try TemporaryDirectory()
        let openssl = try #require(ProcessRunner.which("openssl"))
        let made = try ProcessRunner.run(openssl, ["genpkey", "-algorithm", "ed25519", "-out", dir.url("o.key").path])
        #expect(made.status == 0)
        let key = try SigningKey(contentsOf: dir.url("o.key").path)
        let pub = try ProcessRunner.run(openssl, ["pkey", "-in", dir.url("o.key").path, "-pubout"])
        #expect(pub.stdout == key.publicKey.pem)
    }

    @Test func badKeyFilesAreNamedNeverShown() throws {
        let dir = try TemporaryDirectory()
        try dir.write("rsa.key", "-----BEGIN PRIVATE KEY-----\nTUlJQ2VBSUJBREFOQmdrcWhraUc5dzBCQVFF\n-----END PRIVATE KEY-----\n")
        let error = #expect(throws: ProvenanceError.self) { try SigningKey(contentsOf: dir.url("rsa.key").path) }
        #expect(error?.description.contains("rsa.key") == true)
        #expect(error?.description.contains("TUlJ") == false)
        let missing = #expect(throws: ProvenanceError.self) { try SigningKey(contentsOf: dir.url("nope.key").path) }
        #expect(missing?.description.contains("nope.key") == true)
    }
}

@Suite struct DSSEEnvelopeTests {
    @Test func signingIsDeterministicAndTamperingIsFound() throws {
        let key = SigningKey.generate()
        let payload = Array(#"{"_type":"x"}"#.utf8)
        let a = try DSSEEnvelope.signed(payloadType: DSSEEnvelope.inTotoPayloadType, payload: payload, key: key)
        let b = try DSSEEnvelope.signed(payloadType: DSSEEnvelope.inTotoPayloadType, payload: payload, key: key)
        #expect(a.serialized == b.serialized)
        #expect(a.isSigned(by: key.publicKey))
        #expect(!a.isSigned(by: SigningKey.generate().publicKey))

        var payloadChanged = a
        payloadChanged.payload[3] ^= 1
        #expect(!payloadChanged.isSigned(by: key.publicKey))
        var signatureChanged = a
        signatureChanged.signatures[0].bytes[10] ^= 1
        #expect(!signatureChanged.isSigned(by: key.publicKey))

        let parsed = try DSSEEnvelope(parsing: a.serialized, name: "p.json")
        #expect(parsed == a)
    }

    @Test func preAuthenticationEncodingIsTheSpecs() {
        // The example of the DSSE protocol document.
        let pae = DSSEEnvelope.preAuthenticationEncoding(type: "http://example.com/HelloWorld", body: Array("hello world".utf8))
        #expect(String(decoding: pae, as: UTF8.self) == "DSSEv1 29 http://example.com/HelloWorld 11 hello world")
    }

    @Test func malformedEnvelopesNameTheFile() {
        for text in ["[]", #"{"payload":"!!","payloadType":"t"}"#, #"{"payload":"e30="}"#] {
            let error = #expect(throws: ProvenanceError.self) { try DSSEEnvelope(parsing: Data(text.utf8), name: "bad.json") }
            #expect(error?.description.hasPrefix("bad.json:") == true)
        }
    }
}

@Suite struct ProvenanceVerifierTests {
    /// A one-layer image, its statement and a signed envelope, in a scratch workspace.
    struct Fixture {
        let dir: TemporaryDirectory
        let key: SigningKey
        let manifest: ContentDigest

        init() throws {
            dir = try TemporaryDirectory()
            key = SigningKey.generate()
            try dir.write("data/source.csv", "a,b\n1,2\n")
            try dir.write("model.json", "{}\n")
            let built = try OCIImageBuilder.build(
                spec: ImageSpec(layers: [LayerSpec(name: "m", entries: [LayerEntry(imagePath: "/model/model.json", source: dir.url("model.json"))])],
                                sourceDateEpoch: 0),
                layerCache: nil, output: dir.url("image.tar"))
            manifest = built.manifestDigest
            let csv = ContentDigest.of("a,b\n1,2\n").hex
            let statement = ProvenanceStatement(
                subjectName: "container:c", subjectDigest: manifest.hex, target: "container:c", values: [("files", "a:/a")],
                actionKey: String(repeating: "ab", count: 32),
                resolvedDependencies: [.init(uri: "file:data/source.csv", sha256: csv), .init(uri: "file:data/gone.csv", sha256: csv)],
                mlbuildVersion: "1.0", startedOn: 0)
            let envelope = try DSSEEnvelope.signed(payloadType: DSSEEnvelope.inTotoPayloadType, payload: statement.payload, key: key)
            try dir.write("provenance.json", envelope.serialized)
            try dir.write("k.pub", key.publicKey.pem)
        }

        func verify() throws -> ProvenanceVerifier.Report {
            try ProvenanceVerifier.verify(image: dir.url("image.tar").path, provenance: dir.url("provenance.json").path,
                                          publicKey: key.publicKey, workspace: dir.path)
        }
    }

    @Test func anIntactProvenanceVerifies() throws {
        let fixture = try Fixture()
        let report = try fixture.verify()
        #expect(report.imageDigest == fixture.manifest)
        #expect(report.matched == ["data/source.csv"])
        #expect(report.missing == ["data/gone.csv"])
        #expect(report.isValid)
        #expect(report.statement.startedOn == 0)
        #expect(report.statement.values.map(\.1) == ["a:/a"])
    }

    @Test func oneByteOfPayloadSignatureOrImageIsFound() throws {
        let fixture = try Fixture()
        let original = try fixture.dir.data("provenance.json")
        var envelope = try DSSEEnvelope(parsing: original, name: "p")

        envelope.payload[envelope.payload.count / 2] ^= 0x01
        try fixture.dir.write("provenance.json", envelope.serialized)
        let payload = #expect(throws: ProvenanceError.self) { try fixture.verify() }
        #expect(payload?.description.contains("does not verify") == true)

        envelope = try DSSEEnvelope(parsing: original, name: "p")
        envelope.signatures[0].bytes[0] ^= 0x80
        try fixture.dir.write("provenance.json", envelope.serialized)
        #expect(throws: ProvenanceError.self) { try fixture.verify() }

        try fixture.dir.write("provenance.json", original)
        #expect(try fixture.verify().isValid)
        // One byte of the archive's manifest-bearing blobs: the verifier reads every blob.
        var image = try fixture.dir.data("image.tar")
        let marker = try #require(image.range(of: Data("application/vnd.oci.image.layer".utf8)))
        image[marker.lowerBound] ^= 0x01
        try fixture.dir.write("image.tar", image)
        #expect(throws: ProvenanceError.self) { try fixture.verify() }
    }

    @Test func aChangedSourceIsReported() throws {
        let fixture = try Fixture()
        try fixture.dir.write("data/source.csv", "a,b\n1,3\n")
        let report = try fixture.verify()
        #expect(!report.isValid)
        #expect(report.mismatched.map(\.path) == ["data/source.csv"])
    }

    @Test func anotherKeyIsRefusedByName() throws {
        let fixture = try Fixture()
        let other = SigningKey.generate().publicKey
        let error = #expect(throws: ProvenanceError.self) {
            try ProvenanceVerifier.verify(image: fixture.dir.url("image.tar").path, provenance: fixture.dir.url("provenance.json").path,
                                          publicKey: other, workspace: fixture.dir.path)
        }
        #expect(error?.description.contains("not signed by key \(other.keyID)") == true)
    }
}
