import Foundation
import MLBuildTestSupport
import Testing

/// `container` targets through the real binary, checked with skopeo and umoci.
@Suite("container images checked by the real tools")
struct ContainerImageTests {
    static let noEpoch: [String: String?] = ["SOURCE_DATE_EPOCH": nil]

    @Test func skopeoInspectShowsOurConfigAndAnnotations() throws {
        guard let skopeo = ContainerFixtures.tool("skopeo") else { return }
        let ws = try ContainerFixtures.workspace()
        let run = try ws.build(["container:app"], environment: Self.noEpoch)
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.targets("built") == ["container:app", "task:model", "task:vocab"])
        let digest = try ws.read("build/container/app/digest")
        #expect(digest.hasPrefix("sha256:") && digest.hasSuffix("\n") && digest.count == 7 + 64 + 1)
        let archive = "\(ws.path)/build/container/app/image.tar"

        let inspect = try ProcessRunner.run(skopeo, ["inspect", "oci-archive:" + archive])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        let info = try ContainerFixtures.json(inspect.stdout)
        #expect(info["Digest"] as? String == digest.trimmingCharacters(in: .newlines))
        #expect(info["Created"] as? String == "1970-01-01T00:00:00Z")
        #expect(info["Architecture"] as? String == "amd64")
        #expect(info["Os"] as? String == "linux")
        #expect(info["Labels"] as? [String: String] == ["team": "ml", "tier": "serving"])
        #expect(info["Env"] as? [String] == ["MODEL_DIR=/workspace/out/model", "LANG=C.UTF-8"])
        #expect((info["Layers"] as? [String])?.count == 3)

        let config = try ContainerFixtures.json(try ProcessRunner.run(skopeo, ["inspect", "--config", "oci-archive:" + archive]).stdout)
        let container = try #require(config["config"] as? [String: Any])
        #expect(container["Entrypoint"] as? [String] == ["/app/app.sh"])
        #expect(container["Cmd"] as? [String] == ["--port", "8080"])
        #expect(container["WorkingDir"] as? String == "/app")
        #expect(container["User"] as? String == "1000:1000")
        #expect(container["ExposedPorts"] as? [String: [String: String]] == ["8080/tcp": [:], "9090/udp": [:]])
        let history = try #require(config["history"] as? [[String: Any]])
        #expect(history.compactMap { $0["created_by"] as? String } == [
            "mlbuild container: layer 'task:model'", "mlbuild container: layer 'task:vocab'", "mlbuild container: layer 'files'",
        ])

        let manifest = try ContainerFixtures.manifest(archive)
        let annotations = try #require(manifest["annotations"] as? [String: String])
        #expect(annotations["org.opencontainers.image.ref.name"] == "app-1.2.0")
        #expect(annotations["org.opencontainers.image.version"] == "1.2.0")
        #expect(annotations["org.opencontainers.image.source"] == "https://example.com/app")
        #expect(annotations["org.opencontainers.image.created"] == "1970-01-01T00:00:00Z")
        #expect(annotations["org.opencontainers.image.revision"] == nil, "not a git repository")
        #expect(annotations["com.example.owner"] == "ml-team")
        // Lineage: every packed file's digest, at its image path, and each dependency's outputs digest.
        #expect(annotations["dev.mlbuild.file:/workspace/out/model/weights.bin"] == (try ContainerFixtures.sha256("\(ws.path)/src/weights.bin")))
        #expect(annotations["dev.mlbuild.file:/workspace/out/model/card.txt"] == (try ContainerFixtures.sha256("\(ws.path)/src/card.txt")))
        #expect(annotations["dev.mlbuild.file:/workspace/out/vocab.txt"] == (try ContainerFixtures.sha256("\(ws.path)/src/vocab.txt")))
        #expect(annotations["dev.mlbuild.file:/app/app.sh"] == (try ContainerFixtures.sha256("\(ws.path)/serve/app.sh")))
        #expect(annotations["dev.mlbuild.file:/etc/app/extra/log.conf"] == (try ContainerFixtures.sha256("\(ws.path)/serve/conf/extra/log.conf")))
        #expect(annotations["dev.mlbuild.artifact.task.model"]?.count == 64)
        #expect(annotations["dev.mlbuild.artifact.task.vocab"]?.count == 64)
        #expect(annotations["dev.mlbuild.model"] == nil, "no model packed")
        #expect(annotations.keys.filter { $0.hasPrefix("dev.mlbuild.") }.count == 8)

        // A second build does nothing.
        let second = try ws.build(["container:app"], environment: Self.noEpoch)
        #expect(second.targets("fresh") == ["container:app", "task:model", "task:vocab"])

        // SOURCE_DATE_EPOCH enters the key and becomes `created`.
        let dated = try ws.build(["container:app", "--explain"], environment: ["SOURCE_DATE_EPOCH": "1700000000"])
        #expect(dated.targets("built") == ["container:app"])
        #expect(dated.result.stderr.contains("explain: container:app:"), "\(dated.result.stderr)")
        let datedInfo = try ContainerFixtures.json(try ProcessRunner.run(skopeo, ["inspect", "oci-archive:" + archive]).stdout)
        #expect(datedInfo["Created"] as? String == "2023-11-14T22:13:20Z")
        #expect(try ws.read("build/container/app/digest") != digest)
        #expect(dated.result.stderr.contains("0 compressed, 3 reused"), "tar mtimes do not depend on the epoch: \(dated.result.stderr)")
    }

    @Test func skopeoCopiesAndUmociUnpacksThePackedFiles() throws {
        guard let skopeo = ContainerFixtures.tool("skopeo"), let umoci = ContainerFixtures.tool("umoci") else { return }
        let ws = try ContainerFixtures.workspace()
        let run = try ws.build(["container:app"], environment: Self.noEpoch)
        #expect(run.result.status == 0, "\(run.result.output)")
        let digest = try ws.read("build/container/app/digest").trimmingCharacters(in: .newlines)
        let copy = try ProcessRunner.run(skopeo, [
            "copy", "--insecure-policy", "oci-archive:\(ws.path)/build/container/app/image.tar", "oci:\(ws.path)/layout:v1",
        ])
        #expect(copy.status == 0, "skopeo copy: \(copy.stderr)")
        let index = try ContainerFixtures.json(try ws.read("layout/index.json"))
        #expect((index["manifests"] as? [[String: Any]])?.first?["digest"] as? String == digest, "skopeo keeps our manifest")

        let unpack = try ProcessRunner.run(umoci, ["unpack", "--rootless", "--image", "\(ws.path)/layout:v1", "\(ws.path)/bundle"])
        #expect(unpack.status == 0, "umoci unpack: \(unpack.stderr)")
        #expect(try ws.directory.data("bundle/rootfs/workspace/out/model/weights.bin") == ContainerFixtures.weights)
        #expect(try ws.read("bundle/rootfs/workspace/out/model/card.txt") == "churn model card\n")
        #expect(try ws.read("bundle/rootfs/workspace/out/vocab.txt") == "alpha\nbeta\n")
        #expect(try ws.read("bundle/rootfs/app/app.sh") == "#!/bin/sh\nexec cat /workspace/out/model/card.txt\n")
        #expect(try ws.read("bundle/rootfs/etc/app/app.conf") == "port = 8080\n")
        #expect(try ws.read("bundle/rootfs/etc/app/extra/log.conf") == "level = info\n")
        let mode = try FileManager.default.attributesOfItem(atPath: "\(ws.path)/bundle/rootfs/app/app.sh")[.posixPermissions] as? Int
        #expect(mode == 0o755)
        let dataMode = try FileManager.default.attributesOfItem(atPath: "\(ws.path)/bundle/rootfs/workspace/out/vocab.txt")[.posixPermissions] as? Int
        #expect(dataMode == 0o644)
    }

    @Test func aCorruptedBlobFailsVerifyAndSkopeo() throws {
        guard let skopeo = ContainerFixtures.tool("skopeo") else { return }
        let ws = try ContainerFixtures.workspace()
        #expect(try ws.build(["container:app"], environment: Self.noEpoch).result.status == 0)
        let archive = "\(ws.path)/build/container/app/image.tar"
        let digest = try ws.read("build/container/app/digest").trimmingCharacters(in: .newlines)

        let good = try ws.run(["container", "verify", "build/container/app/image.tar"])
        #expect(good.status == 0, "\(good.output)")
        #expect(good.stdout.hasPrefix("build/container/app/image.tar: ok, 5 blobs, "), "\(good.stdout)")
        #expect(good.stdout.contains("manifest \(digest) (app-1.2.0) linux/amd64"))
        #expect(good.stdout.contains("3 layers"))

        let layer = try #require(ContainerFixtures.layerDigests(try ContainerFixtures.manifest(archive)).first)
        let copied = "\(ws.path)/corrupt.tar"
        try FileManager.default.copyItem(atPath: archive, toPath: copied)
        try ContainerFixtures.flipByte(ofBlob: layer, in: copied)

        let bad = try ws.run(["container", "verify", "corrupt.tar"])
        #expect(bad.status == 1, "\(bad.output)")
        // The image is named once, as it was given (relative), not twice or as an absolute path.
        #expect(bad.stderr.hasPrefix("error: OCI image 'corrupt.tar': layer 0 blob "), "\(bad.stderr)")
        #expect(bad.stderr.contains(layer), "names the bad blob: \(bad.stderr)")
        #expect(bad.stdout.isEmpty)

        let copy = try ProcessRunner.run(skopeo, ["copy", "--insecure-policy", "oci-archive:" + copied, "oci:\(ws.path)/layout:v1"])
        #expect(copy.status != 0)
        #expect(copy.stderr.lowercased().contains("digest did not match"), "\(copy.stderr)")

        let missing = try ws.run(["container", "verify", "nothing.tar"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("error: 'nothing.tar' does not exist"))
    }

    @Test func aBaseImageKeepsItsLayersAndOursAreAppended() throws {
        guard let skopeo = ContainerFixtures.tool("skopeo") else { return }
        let first = try ContainerFixtures.workspace()
        #expect(try first.build(["container:app"], environment: Self.noEpoch).result.status == 0)
        let baseDigest = try first.read("build/container/app/digest").trimmingCharacters(in: .newlines)
        let baseLayers = ContainerFixtures.layerDigests(try ContainerFixtures.manifest("\(first.path)/build/container/app/image.tar"))

        let ws = try MLBuildWorkspace(mlfile: """
        container app
            base = images/base.tar
            files = extra.txt:/srv/extra.txt
            cmd = /bin/sh
            env = LANG=C, EXTRA=1
        """)
        try FileManager.default.createDirectory(atPath: "\(ws.path)/images", withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: "\(first.path)/build/container/app/image.tar", toPath: "\(ws.path)/images/base.tar")
        try ws.write("extra.txt", "extra\n")
        let run = try ws.build(["container:app"], environment: Self.noEpoch)
        #expect(run.result.status == 0, "\(run.result.output)")
        let archive = "\(ws.path)/build/container/app/image.tar"
        let manifest = try ContainerFixtures.manifest(archive)
        let layers = ContainerFixtures.layerDigests(manifest)
        #expect(layers.count == 4)
        #expect(Array(layers.prefix(3)) == baseLayers)
        let annotations = try #require(manifest["annotations"] as? [String: String])
        #expect(annotations["org.opencontainers.image.base.digest"] == baseDigest)
        #expect(annotations["org.opencontainers.image.ref.name"] == nil, "the base's tag is not inherited")
        let info = try ContainerFixtures.json(try ProcessRunner.run(skopeo, ["inspect", "oci-archive:" + archive]).stdout)
        #expect(info["Env"] as? [String] == ["MODEL_DIR=/workspace/out/model", "LANG=C", "EXTRA=1"], "merged by key")
        #expect(info["Labels"] as? [String: String] == ["team": "ml", "tier": "serving"])

        // The base is an input: changing it rebuilds.
        try ws.write("images/base.tar", "not an image")
        let broken = try ws.build(["container:app"], environment: Self.noEpoch)
        #expect(broken.result.status == 1)
        #expect(broken.targets("failed") == ["container:app"])
    }
}
