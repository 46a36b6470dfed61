import Foundation
import Testing
import MLBuildBasics
@testable import MLBuildOCI

@Suite struct BaseImageTests {
    /// Image A: only the files layer, with env/labels/cmd of its own.
    private func baseSpec(_ dir: TempDir) -> ImageSpec {
        var spec = Fixture.spec(for: dir)
        spec.layers = [spec.layers[1]]
        spec.env = ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"]
        spec.labels = ["team": "platform", "tier": "base"]
        spec.annotations = [:]
        return spec
    }

    @Test func imageOnABaseKeepsItsLayersAndExtendsConfig() throws {
        let dir = try TempDir("base")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        let a = try OCIImageBuilder.build(spec: baseSpec(dir), layerCache: nil, output: dir.path("a/image.tar"))

        var specB = Fixture.spec(for: dir)
        specB.base = dir.path("a/image.tar")
        specB.layers = [specB.layers[0]]
        specB.env = ["PATH=/opt/bin:/usr/bin", "MODEL_DIR=/model"]
        specB.cmd = nil
        let b = try OCIImageBuilder.build(spec: specB, layerCache: nil, output: dir.path("b/image.tar"))
        #expect(b.layers.count == 2)
        #expect(b.layers[0].descriptor == a.layers[0].descriptor)
        #expect(b.layers[0].diffID == a.layers[0].diffID)
        #expect(b.layers.map(\.origin) == [.base, .compressed])

        let entries = try TarSurgery.read(dir.path("b/image.tar"))
        let config = try JSONDecoder().decode(ImageConfig.self, from: Data(TarSurgery.blob(entries, b.configDigest)))
        #expect(config.rootfs.diff_ids == [a.layers[0].diffID, b.layers[1].diffID])
        #expect(config.history?.map(\.created_by) == ["mlbuild container: layer 'files'", "mlbuild container: layer 'model'"])
        #expect(config.config?.Env == ["PATH=/opt/bin:/usr/bin", "LANG=C.UTF-8", "MODEL_DIR=/model"])
        #expect(config.config?.Labels == ["team": "ml", "tier": "base"])
        // A new entrypoint without cmd drops the base's cmd.
        #expect(config.config?.Cmd == nil)
        let manifest = try JSONDecoder().decode(Manifest.self, from: Data(TarSurgery.blob(entries, b.manifestDigest)))
        #expect(manifest.annotations?["org.opencontainers.image.base.digest"] == a.manifestDigest.prefixed)
        #expect(try OCIArchiveVerifier.verify(dir.path("b/image.tar")).images.first?.layers.count == 2)

        // Same base and inputs: same bytes again.
        let again = try OCIImageBuilder.build(spec: specB, layerCache: nil, output: dir.path("c/image.tar"))
        #expect(again == b)
        #expect(try Data(contentsOf: dir.path("b/image.tar")) == Data(contentsOf: dir.path("c/image.tar")))
    }

    @Test func baseCanBeAnImageLayoutDirectory() throws {
        let dir = try TempDir("basedir")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        let a = try OCIImageBuilder.build(spec: baseSpec(dir), layerCache: nil, output: dir.path("a/image.tar"))
        try TarSurgery.extract(dir.path("a/image.tar"), to: dir.path("layout"))
        var spec = Fixture.spec(for: dir)
        spec.base = dir.path("layout")
        spec.layers = [spec.layers[0]]
        let fromDir = try OCIImageBuilder.build(spec: spec, layerCache: nil, output: dir.path("b/image.tar"))
        spec.base = dir.path("a/image.tar")
        let fromTar = try OCIImageBuilder.build(spec: spec, layerCache: nil, output: dir.path("c/image.tar"))
        #expect(fromDir == fromTar)
        #expect(fromDir.layers[0].descriptor == a.layers[0].descriptor)

        // A layout whose blob is a symlink out of the layout is refused.
        let blob = dir.path("layout/blobs/sha256/" + a.layers[0].descriptor.digest.hex)
        try FileManager.default.moveItem(at: blob, to: dir.path("outside.blob"))
        try FileManager.default.createSymbolicLink(atPath: blob.path, withDestinationPath: "../../../outside.blob")
        spec.base = dir.path("layout")
        let error = #expect(throws: OCIError.self) {
            try OCIImageBuilder.build(spec: spec, layerCache: nil, output: dir.path("d/image.tar"))
        }
        #expect(error?.message == "OCI image '\(dir.path("layout").path)': base layer 0 blob \(a.layers[0].descriptor.digest.prefixed) is missing")
    }

    /// Builds a base archive, then rewrites it with `edit` applied to its entries.
    private func tamperedBase(_ dir: TempDir, _ edit: (inout [TarSurgery.Entry], BuiltImage) throws -> Void) throws -> URL {
        let a = try OCIImageBuilder.build(spec: baseSpec(dir), layerCache: nil, output: dir.path("a/image.tar"))
        var entries = try TarSurgery.read(dir.path("a/image.tar"))
        try edit(&entries, a)
        let url = dir.path("tampered.tar")
        try TarSurgery.write(entries, to: url)
        return url
    }

    private func buildError(_ dir: TempDir, base: URL, output: String = "out/image.tar") -> String {
        var spec = Fixture.spec(for: dir)
        spec.base = base
        do {
            try OCIImageBuilder.build(spec: spec, layerCache: nil, output: dir.path(output))
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func baseWithPathTraversalIsRefused() throws {
        let dir = try TempDir("evil")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        // A base archive is extracted into OUTDIR/.image.tar.staging-PID-N/base (OCIImageBuilder),
        // and the staging directory is removed afterwards: `../NAME` would land inside it and
        // vanish with it, `../../NAME` in OUTDIR, each further `..` one directory higher. The
        // output lies four directories below `dir`, so each of these landing points is in `dir`
        // and outlives the build: a traversal that worked would leave its file there.
        let output = "w/x/y/out/image.tar"
        for depth in 2...5 {
            let name = "evil-\(depth)"
            let entry = String(repeating: "../", count: depth) + name
            let dotdot = try tamperedBase(dir) { entries, _ in
                entries.append(.init(info: .init(path: entry, kind: .regular, mode: 0o644, size: 4), bytes: Array("evil".utf8)))
            }
            #expect(buildError(dir, base: dotdot, output: output) == "OCI archive '\(dotdot.path)': entry '\(entry)' contains '..' (path traversal)")
            var landing = dir.path(output).deletingLastPathComponent()
            for _ in 0..<(depth - 2) { landing.deleteLastPathComponent() }
            #expect(!FileManager.default.fileExists(atPath: landing.appendingPathComponent(name).path), "\(entry) reached \(landing.path)")
        }
        let written = (FileManager.default.enumerator(atPath: dir.url.path)?.allObjects as? [String] ?? [])
            .filter { ($0 as NSString).lastPathComponent.hasPrefix("evil") }
        #expect(written == [], "nothing of the archive's traversal entries was written anywhere in the tree")

        let absolute = try tamperedBase(dir) { entries, _ in
            entries.insert(.init(info: .init(path: "/tmp/evil", kind: .regular, mode: 0o644, size: 4), bytes: Array("evil".utf8)), at: 0)
        }
        #expect(buildError(dir, base: absolute) == "OCI archive '\(absolute.path)': entry '/tmp/evil' has an absolute path")
    }

    @Test func baseWithLinkEscapingTheRootIsRefused() throws {
        let dir = try TempDir("link")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        var blobPath = ""
        let escaping = try tamperedBase(dir) { entries, built in
            blobPath = "blobs/sha256/" + built.layers[0].descriptor.digest.hex
            entries.removeAll { $0.info.path == blobPath }
            entries.insert(.init(info: .init(path: blobPath, kind: .symlink, mode: 0o777, size: 0, linkTarget: "../../../etc/passwd"), bytes: []), at: 2)
        }
        #expect(buildError(dir, base: escaping)
            == "OCI archive '\(escaping.path)': symlink '\(blobPath)' -> '../../../etc/passwd' escapes the archive root")

        // A link that stays inside the root is followed.
        let inside = try tamperedBase(dir) { entries, built in
            let path = "blobs/sha256/" + built.layers[0].descriptor.digest.hex
            let position = try #require(entries.firstIndex { $0.info.path == path })
            entries[position].info.path = "blobs/real-layer"
            entries.append(.init(info: .init(path: path, kind: .symlink, mode: 0o777, size: 0, linkTarget: "../real-layer"), bytes: []))
        }
        #expect(buildError(dir, base: inside) == "no error")
    }

    @Test func baseWithCorruptBlobIsRefusedNamingIt() throws {
        let dir = try TempDir("basebad")
        defer { dir.remove() }
        try Fixture.makeProject(in: dir)
        var digest: ContentDigest?
        let corrupt = try tamperedBase(dir) { entries, built in
            digest = built.layers[0].descriptor.digest
            let position = try #require(entries.firstIndex { $0.info.path == "blobs/sha256/" + built.layers[0].descriptor.digest.hex })
            entries[position].bytes[20] ^= 0x01
        }
        let layer = try #require(digest)
        #expect(buildError(dir, base: corrupt).hasPrefix(
            "OCI image '\(corrupt.path)': base layer 0 blob \(layer.prefixed): digest did not match (content is sha256:"))
    }
}
