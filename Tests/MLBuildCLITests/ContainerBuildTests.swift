import Foundation
import MLBuildTestSupport
import Testing

/// `container` targets in the engine: reproducibility, layer reuse through the cache, the git
/// revision, Mlfile errors.
@Suite("container targets in the build")
struct ContainerBuildTests {
    static let noEpoch: [String: String?] = ["SOURCE_DATE_EPOCH": nil]

    @Test func sameInputsGiveIdenticalBytesInOtherPathsAndAtAnyJobs() throws {
        let one = try ContainerFixtures.workspace()
        // A second workspace at a deeper, different path with its own cache.
        let holder = try TemporaryDirectory(prefix: "mlbuild-elsewhere")
        let other = try ContainerFixtures.workspace(cacheDirectory: "\(holder.path)/some/other/cache")
        let a = try one.build(["container:app", "-j", "1"], environment: Self.noEpoch)
        let b = try other.build(["container:app", "-j", "8"], environment: Self.noEpoch)
        #expect(a.result.status == 0, "\(a.result.output)")
        #expect(b.result.status == 0, "\(b.result.output)")
        #expect(a.keys["container:app"] == b.keys["container:app"], "the key holds no absolute path")
        let bytesA = try one.directory.data("build/container/app/image.tar")
        let bytesB = try other.directory.data("build/container/app/image.tar")
        #expect(bytesA.count > 65536)
        #expect(bytesA == bytesB)
        #expect(try one.read("build/container/app/digest") == other.read("build/container/app/digest"))
        #expect(!bytesA.contains(Data(one.path.utf8)) && !bytesB.contains(Data(other.path.utf8)))

        // Rebuilding from scratch (no cache, no state) gives the same bytes again.
        try one.run(["clean"])
        try FileManager.default.removeItem(atPath: one.cacheDirectory)
        let c = try one.build(["container:app", "-j", "8"], environment: Self.noEpoch)
        #expect(c.targets("built") == ["container:app", "task:model", "task:vocab"])
        #expect(try one.directory.data("build/container/app/image.tar") == bytesA)
    }

    @Test func changingOneDependencyRecompressesOnlyItsLayer() throws {
        let ws = try ContainerFixtures.workspace()
        let first = try ws.build(["container:app"], environment: Self.noEpoch)
        #expect(first.result.status == 0, "\(first.result.output)")
        #expect(first.result.stderr.contains("3 layers, 3 compressed, 0 reused"), "\(first.result.stderr)")
        let archive = "\(ws.path)/build/container/app/image.tar"
        let before = ContainerFixtures.layerDigests(try ContainerFixtures.manifest(archive))
        #expect(before.count == 3)
        // Every layer blob is in the CAS, where `cache verify` checks it.
        for digest in before {
            let hex = digest.dropFirst("sha256:".count)
            #expect(FileManager.default.fileExists(atPath: "\(ws.cacheDirectory)/cas/\(hex.prefix(2))/\(hex)"), "\(digest) not in the CAS")
        }

        try ws.write("src/vocab.txt", "alpha\nbeta\ngamma\n")
        let second = try ws.build(["container:app"], environment: Self.noEpoch)
        #expect(second.targets("built") == ["container:app", "task:vocab"])
        #expect(second.targets("fresh") == ["task:model"])
        #expect(second.result.stderr.contains("3 layers, 1 compressed, 2 reused"), "\(second.result.stderr)")
        #expect(second.result.stderr.contains("layer task:model \(before[0]) "))
        #expect(second.result.stderr.contains("layer files \(before[2]) "))
        let after = ContainerFixtures.layerDigests(try ContainerFixtures.manifest(archive))
        #expect(after[0] == before[0] && after[2] == before[2])
        #expect(after[1] != before[1])
        #expect(second.result.stderr.contains("layer task:vocab \(after[1]) ") && second.result.stderr.contains(": compressed"))

        // The cache's blobs, layers included, verify; a corrupted layer blob is caught there
        // and, being a miss afterwards, is recompressed by the next build.
        let verify = try ws.run(["cache", "verify"])
        #expect(verify.status == 0, "\(verify.output)")
        let hex = after[0].dropFirst("sha256:".count)
        let blob = "\(ws.cacheDirectory)/cas/\(hex.prefix(2))/\(hex)"
        #expect(chmod(blob, 0o644) == 0)
        let handle = try #require(FileHandle(forUpdatingAtPath: blob))
        try handle.seek(toOffset: 40)
        try handle.write(contentsOf: Data([0xAB, 0xCD, 0xEF]))
        try handle.close()
        try ws.write("src/vocab.txt", "alpha\n")
        let third = try ws.build(["container:app"], environment: Self.noEpoch)
        #expect(third.result.status == 0, "\(third.result.output)")
        #expect(third.result.stderr.contains("3 layers, 2 compressed, 1 reused"), "\(third.result.stderr)")
        #expect(ContainerFixtures.layerDigests(try ContainerFixtures.manifest(archive))[0] == before[0])
    }

    @Test func theGitRevisionIsAnnotatedAndDirtinessEntersTheKey() throws {
        guard let git = ContainerFixtures.tool("git") else { return }
        let ws = try ContainerFixtures.workspace()
        let env = ["GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
                   "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z",
                   "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z"]
        for args in [["init", "-q"], ["add", "Mlfile", "src", "serve"], ["commit", "-q", "-m", "initial"]] {
            let r = try ProcessRunner.run(git, args, in: ws.path, environment: env)
            #expect(r.status == 0, "git \(args): \(r.output)")
        }
        let head = try ProcessRunner.run(git, ["rev-parse", "HEAD"], in: ws.path).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(head.count == 40)
        let archive = "\(ws.path)/build/container/app/image.tar"

        #expect(try ws.build(["container:app"], environment: Self.noEpoch).result.status == 0)
        var annotations = try ContainerFixtures.manifest(archive)["annotations"] as? [String: String]
        #expect(annotations?["org.opencontainers.image.revision"] == head)
        // The build's own untracked files (build/, cache/, .mlbuild/) do not make it dirty.
        let again = try ws.build(["container:app"], environment: Self.noEpoch)
        #expect(again.targets("fresh") == ["container:app", "task:model", "task:vocab"])

        // A tracked file edited without changing what is packed: only the revision changes.
        try ws.write("Mlfile", ContainerFixtures.mlfile + "\n# a comment\n")
        let dirty = try ws.build(["container:app", "--explain"], environment: Self.noEpoch)
        #expect(dirty.targets("built") == ["container:app"])
        #expect(dirty.result.stderr.contains("explain: container:app:"))
        annotations = try ContainerFixtures.manifest(archive)["annotations"] as? [String: String]
        #expect(annotations?["org.opencontainers.image.revision"] == head + "-dirty")
        #expect(dirty.result.stderr.contains("0 compressed, 3 reused"))
    }

    @Test func anUnknownKeyIsAnMlfileErrorWithItsPosition() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task a
            outputs = a.txt
            run = echo a > a.txt

        container app: task:a
            entrypiont = /bin/a
            platform = linux
            exposed_ports = 80, 70000
            env = GOOD=1, BAD
            annotations = org.opencontainers.image.revision=abc
        """)
        let values = try ws.run(["container:app"])
        #expect(values.status == 2)
        #expect(!ws.exists("a.txt"))
        // The unknown key and the values' own errors are reported together, each at its place.
        #expect(values.stderr.contains("Mlfile:6:5: error: unknown key 'entrypiont' for container targets (did you mean 'entrypoint'?)"), "\(values.stderr)")
        #expect(values.stderr.contains("Mlfile:7:16: error: invalid platform 'linux': expected os/arch or os/arch/variant"), "\(values.stderr)")
        #expect(values.stderr.contains("Mlfile:8:25: error: exposed port '70000' must be PORT or PORT/tcp|udp|sctp"), "\(values.stderr)")
        #expect(values.stderr.contains("Mlfile:9:19: error: env item 'BAD' must be KEY=VALUE"), "\(values.stderr)")
        #expect(values.stderr.contains("Mlfile:10:19: error: annotation 'org.opencontainers.image.revision' is set by mlbuild"), "\(values.stderr)")
    }

    @Test func aMissingFilesSourceIsAClearError() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        container app
            files = serve/app.py:/app/, missing/model.bin:/model/
        """)
        try ws.write("serve/app.py", "print('hi')\n")
        let run = try ws.build(["container:app"])
        #expect(run.result.status != 0)
        #expect(run.result.stderr.contains("Mlfile:2:33: error: input 'missing/model.bin' does not exist"), "\(run.result.stderr)")
        #expect(!ws.exists("build/container/app/image.tar"))

        let bad = try MLBuildWorkspace(mlfile: """
        container app
            files = serve/app.py, ../outside:/x, /etc/passwd:/x, a.txt:relative/path
        """)
        let errors = try bad.run(["container:app"])
        #expect(errors.status == 2)
        #expect(errors.stderr.contains("Mlfile:2:13: error: files item 'serve/app.py' must be SRC:/image/path"), "\(errors.stderr)")
        #expect(errors.stderr.contains("Mlfile:2:27: error: files source '../outside' must be a path inside the workspace"))
        #expect(errors.stderr.contains("Mlfile:2:42: error: files source '/etc/passwd' must be a path inside the workspace"))
        #expect(errors.stderr.contains("Mlfile:2:58: error: files destination 'relative/path' must be an absolute path in the image"))
    }
}
