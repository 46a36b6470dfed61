import MLBuildCore
import MLBuildEngine
import Testing

/// Results put back from the local cache instead of being rebuilt, and a cache that lies.
@Suite struct RestoreTests {
    static let mlfile = """
        fake a
            inputs = src/a.txt
            outputs = out/a.txt

        fake b
            inputs = out/a.txt
            outputs = out/b.txt

        """

    static func harness() -> EngineHarness {
        let engine = EngineHarness(mlfile)
        engine.disk.write("src/a.txt", "one\n")
        return engine
    }

    @Test func deletedOutputsAreRestoredNotRerun() async throws {
        let engine = Self.harness()
        _ = try await engine.build()
        try engine.disk.removeTree("out")
        let built = try await engine.build()
        #expect(built.ran.isEmpty)
        #expect(built.statuses == ["fake:a: restored", "fake:b: restored"])
        #expect(built.explained["fake:a"] == RunReason(.outputMissingOrModified("out/a.txt"), .localCache))
        #expect(engine.disk.contents("out/a.txt") == "one\n")
        #expect(engine.disk.contents("out/b.txt") == "one\n")
        // Restored files are fresh next time.
        let again = try await engine.build()
        #expect(again.statuses == ["fake:a: fresh", "fake:b: fresh"])
    }

    @Test func editedOutputIsRestored() async throws {
        let engine = Self.harness()
        _ = try await engine.build()
        engine.disk.write("out/b.txt", "edited by hand\n")
        let built = try await engine.build()
        #expect(built.ran.isEmpty)
        #expect(built.statuses == ["fake:a: fresh", "fake:b: restored"])
        #expect(engine.disk.contents("out/b.txt") == "one\n")
    }

    @Test func revertedInputIsRestoredFromTheCache() async throws {
        let engine = Self.harness()
        _ = try await engine.build()
        engine.disk.write("src/a.txt", "two\n")
        let edited = try await engine.build()
        #expect(edited.ran == ["fake:a", "fake:b"])
        engine.disk.write("src/a.txt", "one\n")
        let reverted = try await engine.build()
        #expect(reverted.ran.isEmpty)
        #expect(reverted.statuses == ["fake:a: restored", "fake:b: restored"])
        #expect(engine.disk.contents("out/b.txt") == "one\n")
    }

    @Test func corruptBlobIsQuarantinedAndTheTargetRebuilt() async throws {
        let engine = Self.harness()
        _ = try await engine.build(["a"])
        let blob = engine.disk.files(under: engine.workspace.cache.casDirectory)
        try #require(blob.count == 1)
        engine.disk.write(blob[0], "not what the name says\n")
        try engine.disk.removeTree("out")
        let built = try await engine.build(["a"])
        #expect(built.ran == ["fake:a"])
        #expect(built.status("fake:a") == .built)
        guard case .restoreFailed(.blobCorrupt)? = built.explained["fake:a"]?.cause else {
            Issue.record("expected a corrupt-blob reason, got \(String(describing: built.explained["fake:a"]))")
            return
        }
        #expect(built.warnings.count == 1)
        #expect(built.warnings.first?.contains("is corrupt") == true)
        #expect(!engine.disk.files(under: engine.workspace.cache.quarantineDirectory).isEmpty)
        #expect(engine.disk.contents("out/a.txt") == "one\n")
    }
}
