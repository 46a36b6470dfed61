import Foundation
import Testing
import MLBuildBasics
@testable import MLBuildOCI

@Suite struct ImageBuilderTests {
    @Test func sameInputsGiveSameBytesAcrossRunsAndDirectories() throws {
        let one = try TempDir("repro1"), two = try TempDir("repro2")
        defer { one.remove(); two.remove() }
        try Fixture.makeProject(in: one)
        try Fixture.makeProject(in: two)
        // Different mtimes (and host paths) must not matter.
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: 1_234_567)], ofItemAtPath: two.path("model/weights.bin").path)

        let a = try OCIImageBuilder.build(spec: Fixture.spec(for: one), layerCache: nil, output: one.path("out/a/image.tar"),
                                          digestFile: one.path("out/a/digest"))
        let b = try OCIImageBuilder.build(spec: Fixture.spec(for: one), layerCache: nil, output: one.path("out/b/image.tar"))
        let c = try OCIImageBuilder.build(spec: Fixture.spec(for: two), layerCache: nil, output: two.path("image.tar"))
        #expect(a == b)
        #expect(a.manifestDigest == c.manifestDigest)
        let bytesA = try Data(contentsOf: one.path("out/a/image.tar"))
        #expect(bytesA == (try Data(contentsOf: one.path("out/b/image.tar"))))
        #expect(bytesA == (try Data(contentsOf: two.path("image.tar"))))
        #expect(Int64(bytesA.count) == a.archiveSize)
        #expect(try String(contentsOf: one.path("out/a/digest"), encoding: .utf8) == a.manifestDigest.prefixed + "\n")
        #expect(a.layers.map(\.origin) == [.compressed, .compressed])
        #expect(a.layers.map(\.name) == ["model", "files"])

        // No staging or temp files left next to the output.
        #expect(try FileManager.default.contentsOfDirectory(atPath: one.path("out/a").path).sorted() == ["digest", "image.tar"])

        // A different SOURCE_DATE_EPOCH changes config and manifest but not the layers.
        let d = try OCIImageBuilder.build(spec: Fixture.spec(for: one, epoch: 1_700_000_000), layerCache: nil,
                                          output: one.path("out/d/image.tar"))
        #expect(d.manifestDigest != a.manifestDigest)
        #expect(d.layers.map(\.descriptor) == a.layers.map(\.descriptor))
    }

    @Test func configManifestAndIndexHoldWhatTheSpecSays() throws {
        let dir = try TempDir("config")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        let out = dir.path("image.tar")
        let built = try OCIImageBuilder.build(spec: Fixture.spec(for: dir, epoch: 1_700_000_000), layerCache: nil, output: out)
        let entries = try TarSurgery.read(out)
        // Layers in the manifest's order, then the config and the manifest.
        #expect(entries.map(\.info.path) == ["blobs/", "blobs/sha256/"]
            + [built.layers[0].descriptor.digest, built.layers[1].descriptor.digest, built.configDigest, built.manifestDigest]
                .map { "blobs/sha256/" + $0.hex }
            + ["index.json", "oci-layout"])
        #expect(String(decoding: try #require(entries.last).bytes, as: UTF8.self) == #"{"imageLayoutVersion":"1.0.0"}"#)

        let config = try JSONDecoder().decode(ImageConfig.self, from: Data(TarSurgery.blob(entries, built.configDigest)))
        #expect(config.created == "2023-11-14T22:13:20Z")
        #expect(config.os == "linux" && config.architecture == "amd64")
        let c = try #require(config.config)
        #expect(c.Entrypoint == ["/srv/serve.sh"])
        #expect(c.Cmd == ["--port", "8080"])
        #expect(c.Env == ["MODEL_DIR=/model", "PATH=/usr/bin:/bin"])
        #expect(c.WorkingDir == "/srv")
        #expect(c.User == "1000:1000")
        #expect(c.ExposedPorts == ["8080/tcp": .init()])
        #expect(c.Labels == ["team": "ml"])
        #expect(config.rootfs.diff_ids == built.layers.map(\.diffID))
        #expect(config.history?.map(\.created_by) == ["mlbuild container: layer 'model'", "mlbuild container: layer 'files'"])

        let expectedAnnotations = [
            "dev.mlbuild.lineage.dataset": "sha256:" + String(repeating: "0", count: 64),
            "dev.mlbuild.model.accuracy": "0.93",
            "org.opencontainers.image.created": "2023-11-14T22:13:20Z",
            "org.opencontainers.image.ref.name": "1.0.0",
            "org.opencontainers.image.revision": "abc123",
            "org.opencontainers.image.source": "https://example.invalid/repo",
            "org.opencontainers.image.version": "1.0.0",
        ]
        let manifestBytes = try TarSurgery.blob(entries, built.manifestDigest)
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(manifestBytes))
        #expect(manifest.annotations == expectedAnnotations)
        #expect(manifest.layers.map(\.mediaType) == [MediaType.layerTarGzip, MediaType.layerTarGzip])
        // Keys are serialized sorted.
        let text = String(decoding: manifestBytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"annotations":{"dev.mlbuild.lineage.dataset":"#))
        let index = try JSONDecoder().decode(Index.self, from: Data(try #require(entries.first { $0.info.path == "index.json" }).bytes))
        #expect(index.manifests.count == 1)
        #expect(index.manifests[0].digest == built.manifestDigest)
        #expect(index.manifests[0].annotations == expectedAnnotations)
        #expect(index.manifests[0].platform == .linuxAMD64)

        // The files layer: parents explicit, sorted, executable kept 0755.
        let layerFile = dir.path("files.tar.gz")
        try Data(TarSurgery.blob(entries, built.layers[1].descriptor.digest)).write(to: layerFile)
        let layer = try TarSurgery.read(layerFile)
        #expect(layer.map(\.info.path) == ["etc/", "etc/app/", "etc/app/settings.toml", "srv/", "srv/serve.sh"])
        #expect(layer.map(\.info.mode) == [0o755, 0o755, 0o644, 0o755, 0o755])
    }

    @Test func layerCacheReusesUnchangedLayersWithoutRecompressing() throws {
        let dir = try TempDir("cache")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        let cache = CountingCache(root: dir.path("cache"))
        let first = try OCIImageBuilder.build(spec: Fixture.spec(for: dir), layerCache: cache, output: dir.path("1/image.tar"))
        #expect(first.compressedLayerCount == 2)
        #expect((cache.lookups, cache.hits, cache.stores) == (2, 0, 2))

        let second = try OCIImageBuilder.build(spec: Fixture.spec(for: dir), layerCache: cache, output: dir.path("2/image.tar"))
        #expect(second.compressedLayerCount == 0)
        #expect(second.layers.map(\.origin) == [.cache, .cache])
        #expect((cache.lookups, cache.hits, cache.stores) == (4, 2, 2))
        #expect(try Data(contentsOf: dir.path("1/image.tar")) == Data(contentsOf: dir.path("2/image.tar")))

        // Only the model changes: only the model layer is compressed again.
        try dir.write("model/weights.bin", Fixture.bytes(count: 300_000, seed: 99))
        let third = try OCIImageBuilder.build(spec: Fixture.spec(for: dir), layerCache: cache, output: dir.path("3/image.tar"))
        #expect(third.layers.map(\.origin) == [.compressed, .cache])
        #expect(third.compressedLayerCount == 1)
        #expect((cache.lookups, cache.hits, cache.stores) == (6, 3, 3))
        #expect(third.layers[1].descriptor == first.layers[1].descriptor)
        #expect(third.layers[0].descriptor.digest != first.layers[0].descriptor.digest)
        // A cache hit gives the same image as a fresh build.
        let fresh = try OCIImageBuilder.build(spec: Fixture.spec(for: dir), layerCache: nil, output: dir.path("4/image.tar"))
        #expect(fresh.manifestDigest == third.manifestDigest)
    }

    @Test func corruptCachedBlobIsCaughtWhilePacking() throws {
        let dir = try TempDir("cachebad")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        let cache = DirectoryLayerBlobCache(root: dir.path("cache"))
        let first = try OCIImageBuilder.build(spec: Fixture.spec(for: dir), layerCache: cache, output: dir.path("1/image.tar"))
        let digest = first.layers[0].descriptor.digest
        let blob = dir.path("cache/blobs/sha256/" + digest.hex)
        var bytes = try [UInt8](Data(contentsOf: blob))
        bytes[100] ^= 0xff
        try Data(bytes).write(to: blob)
        let error = #expect(throws: OCIError.self) {
            try OCIImageBuilder.build(spec: Fixture.spec(for: dir), layerCache: cache, output: dir.path("2/image.tar"))
        }
        #expect(error?.message.contains("layer blob \(digest.prefixed)") == true)
        #expect(!FileManager.default.fileExists(atPath: dir.path("2/image.tar").path))
    }

    @Test func badSpecsAreRefusedNamingTheFault() throws {
        let dir = try TempDir("bad")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        func failure(_ edit: (inout ImageSpec) -> Void) -> String {
            var spec = Fixture.spec(for: dir)
            edit(&spec)
            do {
                try OCIImageBuilder.build(spec: spec, layerCache: nil, output: dir.path("x/image.tar"))
                return "no error"
            } catch {
                return "\(error)"
            }
        }
        #expect(failure { $0.env = ["NOEQUALS"] } == "env entry 'NOEQUALS' is not KEY=VALUE")
        #expect(failure { $0.exposedPorts = ["99999"] } == "exposed port '99999' is not PORT or PORT/PROTO with PORT in 1...65535")
        #expect(failure { $0.tag = "bad tag" } == "tag 'bad tag' is not a valid org.opencontainers.image.ref.name")
        #expect(failure { $0.layers[1].entries[0].imagePath = "/srv/../../etc/" } == "layer 'files': invalid image path '/srv/../../etc/'")
        #expect(failure {
            $0.layers[1].entries.append(LayerEntry(imagePath: "/etc/app/settings.toml", source: dir.path("model/config.json")))
        } == "layer 'files': image path '/etc/app/settings.toml' comes from both '\(dir.path("app/settings.toml").path)' and '\(dir.path("model/config.json").path)'")
        #expect(failure { $0.layers[0].entries[0].source = dir.path("missing") }
            == "layer 'model': cannot read source '\(dir.path("missing").path)': No such file or directory")
    }
}
