import Foundation
import Testing
import MLBuildBasics
@testable import MLBuildOCI

/// Interop with the real tools (CI installs skopeo and umoci; a missing tool fails the test).
@Suite struct RealToolsTests {
    @Test func skopeoInspectShowsOurConfigAndAnnotations() throws {
        guard let skopeo = Tools.require("skopeo") else { return }
        let dir = try TempDir("skopeo")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        let built = try OCIImageBuilder.build(spec: Fixture.spec(for: dir, epoch: 1_700_000_000), layerCache: nil, output: dir.path("image.tar"))
        let ref = "oci-archive:" + dir.path("image.tar").path

        let inspect = try Tools.run(skopeo, ["inspect", ref])
        #expect(inspect.status == 0, "skopeo inspect failed: \(inspect.stderr)")
        let info = try TarSurgery.json(Array(inspect.stdout.utf8))
        #expect(info["Digest"] as? String == built.manifestDigest.prefixed)
        #expect(info["Created"] as? String == "2023-11-14T22:13:20Z")
        #expect(info["Architecture"] as? String == "amd64")
        #expect(info["Os"] as? String == "linux")
        #expect(info["Labels"] as? [String: String] == ["team": "ml"])
        #expect(info["Env"] as? [String] == ["MODEL_DIR=/model", "PATH=/usr/bin:/bin"])
        #expect(info["Layers"] as? [String] == built.layers.map(\.descriptor.digest.prefixed))

        let raw = try Tools.run(skopeo, ["inspect", "--raw", ref])
        #expect(raw.status == 0, "skopeo inspect --raw failed: \(raw.stderr)")
        let manifest = try TarSurgery.json(Array(raw.stdout.utf8))
        let annotations = try #require(manifest["annotations"] as? [String: String])
        #expect(annotations["org.opencontainers.image.ref.name"] == "1.0.0")
        #expect(annotations["org.opencontainers.image.revision"] == "abc123")
        #expect(annotations["dev.mlbuild.model.accuracy"] == "0.93")

        let config = try Tools.run(skopeo, ["inspect", "--config", ref])
        #expect(config.status == 0, "skopeo inspect --config failed: \(config.stderr)")
        let configJSON = try TarSurgery.json(Array(config.stdout.utf8))
        let container = try #require(configJSON["config"] as? [String: Any])
        #expect(container["Entrypoint"] as? [String] == ["/srv/serve.sh"])
        #expect(container["WorkingDir"] as? String == "/srv")
        #expect(container["ExposedPorts"] as? [String: [String: String]] == ["8080/tcp": [:]])
    }

    @Test func skopeoCopiesAndUmociUnpacksTheModel() throws {
        guard let skopeo = Tools.require("skopeo"), let umoci = Tools.require("umoci") else { return }
        let dir = try TempDir("umoci")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        let built = try OCIImageBuilder.build(spec: Fixture.spec(for: dir), layerCache: nil, output: dir.path("image.tar"))
        let copy = try Tools.run(skopeo, [
            "copy", "--insecure-policy", "oci-archive:" + dir.path("image.tar").path, "oci:" + dir.path("layout").path + ":v1",
        ])
        #expect(copy.status == 0, "skopeo copy failed: \(copy.stderr)")
        // skopeo keeps our manifest as it is.
        let index = try TarSurgery.json(Array(try Data(contentsOf: dir.path("layout/index.json"))))
        let manifests = try #require(index["manifests"] as? [[String: Any]])
        #expect(manifests.first?["digest"] as? String == built.manifestDigest.prefixed)

        let unpack = try Tools.run(umoci, ["unpack", "--rootless", "--image", dir.path("layout").path + ":v1", dir.path("bundle").path])
        #expect(unpack.status == 0, "umoci unpack failed: \(unpack.stderr)")
        let rootfs = dir.path("bundle/rootfs")
        #expect(try Data(contentsOf: rootfs.appendingPathComponent("model/weights.bin")) == Data(Fixture.bytes(count: 300_000, seed: 1)))
        #expect(try String(contentsOf: rootfs.appendingPathComponent("model/tokenizer/vocab.txt"), encoding: .utf8) == "a\nb\nc\n")
        let attributes = try FileManager.default.attributesOfItem(atPath: rootfs.appendingPathComponent("srv/serve.sh").path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o755)
        // And the layout skopeo wrote verifies too (a directory, not an archive).
        #expect(try OCIArchiveVerifier.verify(dir.path("layout")).images.first?.manifestDigest == built.manifestDigest)
    }

    @Test func corruptedLayerFailsVerifyAndSkopeoCopy() throws {
        guard let skopeo = Tools.require("skopeo") else { return }
        let dir = try TempDir("corrupt")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        let built = try OCIImageBuilder.build(spec: Fixture.spec(for: dir), layerCache: nil, output: dir.path("image.tar"))
        let layer = built.layers[0].descriptor.digest
        var entries = try TarSurgery.read(dir.path("image.tar"))
        let position = try #require(entries.firstIndex { $0.info.path == "blobs/sha256/" + layer.hex })
        entries[position].bytes[5000] ^= 0xff
        try TarSurgery.write(entries, to: dir.path("bad.tar"))

        let error = #expect(throws: OCIError.self) { try OCIArchiveVerifier.verify(dir.path("bad.tar")) }
        #expect(error?.message.contains("blob \(layer.prefixed): digest did not match") == true)
        let copy = try Tools.run(skopeo, [
            "copy", "--insecure-policy", "oci-archive:" + dir.path("bad.tar").path, "oci:" + dir.path("layout").path + ":v1",
        ])
        #expect(copy.status != 0)
        #expect(copy.stderr.contains("Digest did not match"), "skopeo said: \(copy.stderr)")
    }
}
