import Foundation
import MLBuildCore
@testable import MLBuildREAPI
import MLBuildTestSupport
import Testing

/// `--remote-cache grpc://…`: the engine's remote cache on a Remote Execution API server, here a
/// real buildbox-casd on loopback (its CAS and action cache), against the real binary.
@Suite("remote cache over the Remote Execution API (buildbox-casd)", .serialized)
struct REAPIRemoteCacheTests {
    static let mlfile = """
    task gen
        inputs = src/in.txt
        outputs = out/gen.txt, out/tool.sh, out/empty, out/link, out/nothing.txt
        run = tr a-z A-Z < src/in.txt > out/gen.txt && printf '#!/bin/sh\\necho hi\\n' > out/tool.sh && chmod +x out/tool.sh && mkdir -p out/empty && ln -s gen.txt out/link && : > out/nothing.txt

    task use: task:gen
        inputs = out/gen.txt
        outputs = out/use.txt
        run = cat out/gen.txt out/gen.txt > out/use.txt
    """

    func server() throws -> BuildboxCasdServer {
        try BuildboxCasdServer(executable: BuildboxCasdServer.executable(packageRoot: MLFixtures.repositoryRoot))
    }

    /// A workspace with its own, empty local cache.
    func workspace(_ mlfile: String = Self.mlfile) throws -> MLBuildWorkspace {
        let ws = try MLBuildWorkspace(mlfile: mlfile)
        try ws.write("src/in.txt", "hello\n")
        return ws
    }

    /// Every file under `out/` (and a link's target), with its mode's executable bit.
    func tree(_ ws: MLBuildWorkspace) throws -> [String: String] {
        var out: [String: String] = [:]
        let root = "\(ws.path)/out"
        for name in try FileManager.default.subpathsOfDirectory(atPath: root).sorted() {
            let path = "\(root)/\(name)"
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
                out[name] = "-> \(target)"
            } else if (try? FileManager.default.contentsOfDirectory(atPath: path)) != nil {
                out[name] = "dir"
            } else {
                let executable = FileManager.default.isExecutableFile(atPath: path)
                out[name] = (executable ? "x " : "") + ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "?")
            }
        }
        return out
    }

    @Test func aSecondWorkspaceRestoresEverythingFromTheServer() throws {
        let casd = try server()
        let first = try workspace()
        let built = try first.build(["--remote-cache", casd.url])
        #expect(built.result.status == 0, "\(built.result.output)")
        #expect(built.targets("built") == ["task:gen", "task:use"])
        #expect(casd.actionCacheEntries().count == 2, "one action result per target")

        let second = try workspace()
        let restored = try second.build(["--remote-cache", casd.url])
        #expect(restored.result.status == 0, "\(restored.result.output)")
        #expect(restored.targets("restored") == ["task:gen", "task:use"], "\(restored.result.output)")
        let sources = restored.events.filter { $0["type"] as? String == "target" }.compactMap { $0["from"] as? String }
        #expect(sources == ["remote", "remote"])
        #expect(try tree(second) == tree(first))
        #expect(try tree(second)["tool.sh"]?.hasPrefix("x ") == true && tree(second)["link"] == "-> gen.txt")
        // An empty file has the digest of the empty input root the action names: one blob, both uses.
        #expect(try tree(second)["nothing.txt"] == "")
        #expect(restored.keys == built.keys)
        #expect(restored.result.stderr.contains("remote: 2 hits"), "\(restored.result.stderr)")
        #expect(!restored.result.stderr.contains("warning"), "\(restored.result.stderr)")
    }

    @Test func datasetsFeaturesAndModelsRestoreBitIdentical() throws {
        let casd = try server()
        let local = try MLFixtures.workspace()
        let reference = try local.build([])
        #expect(reference.result.status == 0, "\(reference.result.output)")
        let uploader = try MLFixtures.workspace()
        let uploaded = try uploader.build(["--remote-cache", casd.url])
        #expect(uploaded.result.status == 0, "\(uploaded.result.output)")
        #expect(uploaded.keys == reference.keys)
        let fresh = try MLFixtures.workspace()
        let restored = try fresh.build(["--remote-cache", casd.url])
        #expect(restored.result.status == 0, "\(restored.result.output)")
        #expect(restored.targets("built").isEmpty, "\(restored.result.output)")
        #expect(restored.targets("restored") == reference.statuses.keys.sorted())
        for path in ["build/model/lr/model.json", "build/model/gbt/model.json", "build/model/lr/metrics.json",
                     "build/dataset/rows/stats.json"] {
            #expect(try MLFixtures.bytes(fresh, path) == MLFixtures.bytes(local, path), "\(path)")
        }
    }

    @Test func blobsPastTheBatchLimitGoOverByteStream() throws {
        let casd = try server()
        let mlfile = """
        task big
            inputs = src/in.txt
            outputs = out/big.bin
            run = yes "$(cat src/in.txt)" | head -c 6000000 > out/big.bin
        """
        let first = try workspace(mlfile)
        let built = try first.build(["--remote-cache", casd.url])
        #expect(built.result.status == 0, "\(built.result.output)")
        // 6 MB in one blob: more than a batch may carry (4 MiB), so ByteStream Write, then Read.
        // The blob plus the action, command, empty root and result messages (a few hundred bytes).
        let up = built.result.stderr.components(separatedBy: " bytes up").first?.components(separatedBy: " ").last.flatMap { Int($0) }
        #expect(up.map { (6_000_000 ..< 6_001_000).contains($0) } == true, "\(built.result.stderr)")
        #expect(casd.casBlobs().contains { ((try? $0.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0) == 6_000_000 })
        let second = try workspace(mlfile)
        let restored = try second.build(["--remote-cache", casd.url])
        #expect(restored.result.status == 0, "\(restored.result.output)")
        #expect(restored.targets("restored") == ["task:big"], "\(restored.result.output)")
        #expect(try MLFixtures.bytes(second, "out/big.bin") == MLFixtures.bytes(first, "out/big.bin"))
        #expect(restored.result.stderr.contains("6000000 bytes down"), "\(restored.result.stderr)")
    }

    @Test func anUnreachableServerIsOneWarningAndTheBuildGoesOnLocally() throws {
        let port = try MLflowServer.unusedPort()
        let ws = try workspace()
        let run = try ws.build(["--remote-cache", "grpc://127.0.0.1:\(port)", "--remote-timeout", "5"],
                               environment: ["MLBUILD_REMOTE_HEADER": "Authorization: Bearer s3cret-token"])
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.targets("built") == ["task:gen", "task:use"])
        let warnings = run.result.stderr.components(separatedBy: "\n").filter { $0.contains("warning: remote cache grpc://127.0.0.1:\(port) unavailable (") }
        #expect(warnings.count == 1, "\(run.result.stderr)")
        #expect(!run.result.output.contains("s3cret-token"))
        #expect(try ws.read("out/use.txt") == "HELLO\nHELLO\n")
    }

    @Test func badAddressesAreUsageErrors() throws {
        let ws = try workspace()
        let run = try ws.run(["--remote-cache", "grpc://127.0.0.1"])
        #expect(run.status == 2)
        #expect(run.stderr.contains("remote cache: 'grpc://127.0.0.1': the port is missing (grpc://HOST:PORT)"), "\(run.stderr)")
    }

    @Test func aCorruptBlobOnTheServerNeverReachesTheWorkspace() throws {
        let casd = try server()
        let first = try workspace()
        #expect(try first.build(["--remote-cache", casd.url]).result.status == 0)
        // Every blob of the server's store gets other bytes of the same length.
        for blob in casd.casBlobs() {
            let size = (try? Data(contentsOf: blob).count) ?? 0
            chmod(blob.path, 0o644)
            try Data(repeating: UInt8(ascii: "X"), count: size).write(to: blob)
        }
        let victim = try workspace()
        let run = try victim.build(["--remote-cache", casd.url])
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.targets("built") == ["task:gen", "task:use"], "\(run.result.output)")
        #expect(try tree(victim) == tree(first))
        // mlbuild's own check caught it (casd serves what its store holds).
        #expect(run.result.stderr.contains("warning: remote cache \(casd.url) served a bad blob "), "\(run.result.stderr)")
        #expect(run.result.stderr.contains("(its content has another SHA-256); ignoring it"), "\(run.result.stderr)")
    }

    @Test func anActionResultWithAnUndeclaredOutputIsRefused() throws {
        let casd = try server()
        let first = try workspace()
        let built = try first.build(["--remote-cache", casd.url])
        #expect(built.result.status == 0)
        // task:gen's entry now also names out/evil.txt (its blob is genuine: gen.txt's).
        let key = try #require(built.keys["task:gen"].flatMap { ContentDigest(prefixed: $0) ?? ContentDigest(hex: $0) })
        let action = try REAPIActionMapping.actionBlobs(for: key).action
        // casd files an entry as objects/<first two hex digits>/<the rest>.
        let entry = try #require(casd.actionCacheEntries().first {
            $0.deletingLastPathComponent().lastPathComponent + $0.lastPathComponent == action.hash
        })
        var result = try REActionResult(serializedBytes: Data(contentsOf: entry))
        var evil = try #require(result.outputFiles.first { $0.path == "out/gen.txt" })
        evil.path = "out/evil.txt"
        result.outputFiles.append(evil)
        chmod(entry.path, 0o644)
        try REAPIActionMapping.serialize(result).write(to: entry)

        let victim = try workspace()
        let run = try victim.build(["--remote-cache", casd.url])
        #expect(run.result.status == 0, "\(run.result.output)")
        #expect(run.statuses["task:gen"] == "built", "\(run.result.output)")
        #expect(!victim.exists("out/evil.txt"))
        #expect(run.result.stderr.contains("warning: remote cache \(casd.url) action result for task:gen does not match its declared outputs"),
                "\(run.result.stderr)")
        #expect(try tree(victim) == tree(first))
    }
}
