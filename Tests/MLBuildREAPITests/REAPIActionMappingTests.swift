import Foundation
import MLBuildCache
import MLBuildCore
@testable import MLBuildREAPI
import Testing

/// How keys and results look on an REAPI server, and what an answer must look like to be believed.
@Suite("REAPI action mapping")
struct REAPIActionMappingTests {
    let key = ContentDigest.of("an action key")

    @Test func anActionDigestIsTheSHA256OfItsDeterministicBytesAndDiffersPerKey() throws {
        let (action, blobs) = try REAPIActionMapping.actionBlobs(for: key)
        #expect(blobs.count == 3)
        for (digest, bytes) in blobs {
            #expect(digest.hash == ContentDigest.of(bytes).hex && digest.sizeBytes == Int64(bytes.count))
        }
        #expect(blobs[0].0 == action)
        let decoded = try Build_Bazel_Remote_Execution_V2_Action(serializedBytes: blobs[0].1)
        #expect(decoded.commandDigest == blobs[1].0 && decoded.inputRootDigest == blobs[2].0)
        let command = try Build_Bazel_Remote_Execution_V2_Command(serializedBytes: blobs[1].1)
        #expect(command.arguments == ["mlbuild", "action", key.hex])
        // The same key, the same digest; another key, another.
        #expect(try REAPIActionMapping.actionBlobs(for: key).action == action)
        #expect(try REAPIActionMapping.actionBlobs(for: ContentDigest.of("another key")).action != action)
    }

    @Test func resultsRoundTripSortedByPath() throws {
        let result = ActionResult(outputs: [
            ActionResult.Output(path: "out/z.bin", digest: ContentDigest.of("z"), size: 1, executable: true),
            .symlink(path: "out/link", target: "z.bin"),
            .directory(path: "out/empty"),
            ActionResult.Output(path: "out/a.txt", digest: ContentDigest.of("a"), size: 1, executable: false),
        ])
        let (remote, extra) = try REAPIActionMapping.remote(result)
        #expect(remote.outputFiles.map(\.path) == ["out/a.txt", "out/z.bin"])
        #expect(!remote.outputFiles[0].isExecutable && remote.outputFiles[1].isExecutable)
        #expect(remote.outputSymlinks.map(\.target) == ["z.bin"])
        #expect(extra.count == 1 && remote.outputDirectories.first?.treeDigest == extra[0].0)
        let back = try REAPIActionMapping.local(remote)
        #expect(back.outputs.map(\.path) == ["out/a.txt", "out/empty", "out/link", "out/z.bin"])
        #expect(Set(back.outputs) == Set(result.outputs))
    }

    func refusal(_ change: (inout REActionResult) -> Void) -> String? {
        var remote = (try? REAPIActionMapping.remote(ActionResult(outputs: [
            ActionResult.Output(path: "out/a.txt", digest: ContentDigest.of("a"), size: 1, executable: false),
        ])).0) ?? REActionResult()
        change(&remote)
        do {
            _ = try REAPIActionMapping.local(remote)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func answersOfAnotherShapeAreRefused() {
        #expect(refusal { _ in } == nil)
        #expect(refusal { $0.exitCode = 1 } == "the action exited with 1")
        #expect(refusal { $0.outputFiles[0].digest.hash = $0.outputFiles[0].digest.hash.uppercased() }?.contains("is not a lowercase SHA-256") == true)
        #expect(refusal { $0.outputFiles[0].digest.hash = "abc" }?.contains("is not a lowercase SHA-256") == true)
        #expect(refusal { $0.outputFiles[0].digest.sizeBytes = -1 }?.contains("negative size") == true)
        #expect(refusal { result in
            var directory = Build_Bazel_Remote_Execution_V2_OutputDirectory()
            directory.path = "out/dir"
            directory.treeDigest = REAPIActionMapping.digest(ContentDigest.of("a tree with files"), size: 40)
            result.outputDirectories = [directory]
        } == "output directory 'out/dir' has content (mlbuild records only empty directories)")
    }

    @Test func statusNamesAreGRPCs() {
        #expect(REAPICacheBackend.name(of: .unavailable) == "UNAVAILABLE")
        #expect(REAPICacheBackend.name(of: .deadlineExceeded) == "DEADLINE_EXCEEDED")
        #expect(REAPICacheBackend.code(5) == .notFound)
        #expect(REAPICacheBackend.code(0) == .unknown)
    }
}
