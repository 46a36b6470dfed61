import Foundation
import MLBuildBasics
import Testing
@testable import MLBuildOCI

/// What a layer's entries expand to, before any byte is written.
@Suite struct LayerPlanTests {
    @Test func anEmptyDirectoryEntryIsADirectoryWithItsMode() throws {
        let dir = try TempDir("plan")
        defer { dir.remove() }
        let tool = try dir.write("tool", "#!/bin/sh\n", mode: 0o700)
        let spec = LayerSpec(name: "runtime", entries: [
            LayerEntry(imagePath: "/usr/local/bin/tool", source: tool, mode: 0o755),
            LayerEntry(emptyDirectory: "/proc", mode: 0o555),
        ])
        let plan = try LayerPlan(spec: spec, compressionLevel: 6)
        #expect(plan.items.map(\.path) == ["proc", "usr", "usr/local", "usr/local/bin", "usr/local/bin/tool"])
        #expect(plan.items.map(\.mode) == [0o555, 0o755, 0o755, 0o755, 0o755])
        #expect(plan.items.map(\.kind) == [.directory, .directory, .directory, .directory, .file])

        // The mode is part of the layer: another mode, another key.
        let other = try LayerPlan(spec: LayerSpec(name: "runtime", entries: [
            LayerEntry(imagePath: "/usr/local/bin/tool", source: tool, mode: 0o755),
            LayerEntry(emptyDirectory: "/proc", mode: 0o755),
        ]), compressionLevel: 6)
        #expect(other.cacheKey != plan.cacheKey)

        #expect { try LayerPlan(spec: LayerSpec(name: "runtime", entries: [LayerEntry(emptyDirectory: "/")]), compressionLevel: 6) }
            throws: { "\($0)".contains("layer 'runtime': the image root '/' cannot be an entry") }
    }

    /// Files are hashed on the budget's threads; the items, digests and key are the same at any
    /// thread count.
    @Test func filesHashedInParallelGiveTheSameItemsAtAnyThreadCount() async throws {
        let dir = try TempDir("plan-parallel")
        defer { dir.remove() }
        for i in 0..<6 { try dir.write("model/shard-\(i).bin", Fixture.bytes(count: 50_000 + i, seed: UInt64(i))) }
        try dir.write("model/config.json", "{}\n")
        let spec = LayerSpec(name: "model", entries: [LayerEntry(imagePath: "/model", source: dir.path("model"))])
        let one = try await WorkBudget(threads: 1).run { try LayerPlan(spec: spec, compressionLevel: 6) }
        let four = try await WorkBudget(threads: 4).run { try LayerPlan(spec: spec, compressionLevel: 6) }
        #expect(one.items == four.items)
        #expect(one.cacheKey == four.cacheKey)
        for item in one.items where item.kind == .file {
            #expect(item.digest == (try ContentDigest.ofFile(dir.path(item.path)).digest.hex))
        }
    }

    @Test func knownDigestsKeyTheLayerWithoutReadingAndAreStillChecked() throws {
        let dir = try TempDir("known")
        defer { dir.remove() }
        let weights = try dir.write("model/weights.bin", Fixture.bytes(count: 100_000, seed: 3))
        _ = try dir.write("model/config.json", "{}\n")
        let entries = [LayerEntry(imagePath: "/model", source: dir.path("model"))]
        let hashed = try LayerPlan(spec: LayerSpec(name: "model", entries: entries), compressionLevel: 6)
        let real = try ContentDigest.ofFile(weights).digest.hex
        let key = weights.standardizedFileURL.path

        // The digest the caller already has is the one in the plan: same items, same key.
        let known = try LayerPlan(spec: LayerSpec(name: "model", entries: entries, knownDigests: [key: real]), compressionLevel: 6)
        #expect(known.items == hashed.items)
        #expect(known.cacheKey == hashed.cacheKey)

        // A wrong one is taken for the key (it is not read again) ...
        let wrong = String(repeating: "0", count: 64)
        let lying = try LayerPlan(spec: LayerSpec(name: "model", entries: entries, knownDigests: [key: wrong]), compressionLevel: 6)
        #expect(lying.items.first { $0.path == "model/weights.bin" }?.digest == wrong)
        #expect(lying.cacheKey != hashed.cacheKey)
        // ... and the layer refuses to be written from bytes that do not match it.
        var spec = Fixture.spec(for: dir)
        spec.layers = [LayerSpec(name: "model", entries: entries, knownDigests: [key: wrong])]
        #expect { try OCIImageBuilder.build(spec: spec, layerCache: nil, output: dir.path("out/image.tar")) }
            throws: { "\($0)".contains("changed while the layer was being written") }
        #expect(!FileManager.default.fileExists(atPath: dir.path("out/image.tar").path))
        // With the right one the image is the one built by hashing.
        spec.layers = [LayerSpec(name: "model", entries: entries, knownDigests: [key: real])]
        let a = try OCIImageBuilder.build(spec: spec, layerCache: nil, output: dir.path("out/a.tar"))
        spec.layers = [LayerSpec(name: "model", entries: entries)]
        let b = try OCIImageBuilder.build(spec: spec, layerCache: nil, output: dir.path("out/b.tar"))
        #expect(a.manifestDigest == b.manifestDigest)
        #expect(try Fixture.sha256(dir.path("out/a.tar")) == Fixture.sha256(dir.path("out/b.tar")))
    }
}

/// When a layer's files are hashed, and when they are not hashed again.
@Suite struct LayerSourceCheckTests {
    /// A model directory whose files are out of the racy window (their timestamps could not hide
    /// a write made now).
    private func settledModel(_ dir: TempDir) throws -> [LayerEntry] {
        _ = try dir.write("model/weights.bin", Fixture.bytes(count: 300_000, seed: 5))
        _ = try dir.write("model/config.json", "{}\n")
        Thread.sleep(forTimeInterval: Double(SourceStamp.racyWindowNanoseconds) / 1e9 + 0.1)
        return [LayerEntry(imagePath: "/model", source: dir.path("model"))]
    }

    private func write(_ plan: LayerPlan) throws -> LayerBlobWriter.Written {
        try LayerBlobWriter.write(plan: plan, into: MemorySink(), compression: .zstd, level: 3, mtime: 0)
    }

    @Test func withoutALayerCacheNothingIsHashedBeforeTarring() throws {
        let dir = try TempDir("unkeyed")
        defer { dir.remove() }
        let entries = try settledModel(dir)
        let keyed = try LayerPlan(spec: LayerSpec(name: "model", entries: entries), compressionLevel: 3)
        let unkeyed = try LayerPlan(spec: LayerSpec(name: "model", entries: entries), compressionLevel: 3, keyed: false)
        #expect(unkeyed.cacheKey == nil)
        #expect(keyed.cacheKey != nil)
        #expect(unkeyed.items.allSatisfy { $0.digest == nil } && unkeyed.stamps.isEmpty)
        #expect(unkeyed.items.map(\.path) == keyed.items.map(\.path))
        // The same layer bytes either way, and the same image with a layer cache or without.
        #expect(try write(unkeyed).digest == write(keyed).digest)
        var spec = Fixture.spec(for: dir)
        spec.layers = [LayerSpec(name: "model", entries: entries)]
        let cache = CountingCache(root: dir.path("layer-cache"))
        let cached = try OCIImageBuilder.build(spec: spec, layerCache: cache, output: dir.path("out/cached.tar"))
        let uncached = try OCIImageBuilder.build(spec: spec, layerCache: nil, output: dir.path("out/uncached.tar"))
        #expect(cached.manifestDigest == uncached.manifestDigest)
        #expect(try Fixture.sha256(dir.path("out/cached.tar")) == Fixture.sha256(dir.path("out/uncached.tar")))
    }

    @Test func aFileWhoseStampHeldSinceItWasHashedIsNotHashedAgain() throws {
        let dir = try TempDir("stamped")
        defer { dir.remove() }
        let entries = try settledModel(dir)
        let plan = try LayerPlan(spec: LayerSpec(name: "model", entries: entries), compressionLevel: 3)
        let index = try #require(plan.items.firstIndex { $0.path == "model/weights.bin" })
        let stamp = try #require(plan.stamps["model/weights.bin"], "a settled file hashed by the plan is stamped")
        #expect(stamp.size == 300_000)
        let expected = try write(plan)

        // The proof that the bytes are not read for their digest again: a digest that does not
        // match them goes through while the stamp holds ...
        var lying = plan
        lying.items[index].digest = String(repeating: "0", count: 64)
        #expect(try write(lying).digest == expected.digest)
        // ... and not once the stamp is gone.
        lying.stamps["model/weights.bin"] = nil
        #expect { try write(lying) } throws: { "\($0)".contains("'\(dir.path("model/weights.bin").path)' changed while the layer was being written") }
    }

    @Test func aFileWrittenSinceItWasHashedIsHashedAgainAndMustMatch() throws {
        let dir = try TempDir("restamped")
        defer { dir.remove() }
        let entries = try settledModel(dir)
        let weights = dir.path("model/weights.bin")
        let plan = try LayerPlan(spec: LayerSpec(name: "model", entries: entries), compressionLevel: 3)
        let expected = try write(plan)

        // The same bytes written again: the stamp moved, the bytes are hashed and match.
        try Data(Fixture.bytes(count: 300_000, seed: 5)).write(to: weights)
        #expect(try write(plan).digest == expected.digest)
        // Other bytes of the same size: hashed, and refused.
        try Data(Fixture.bytes(count: 300_000, seed: 6)).write(to: weights)
        #expect { try write(plan) } throws: { "\($0)".contains("changed while the layer was being written") }
        // Replaced by another file (a rename: another inode) with the planned bytes: hashed, accepted.
        _ = try dir.write("elsewhere.bin", Fixture.bytes(count: 300_000, seed: 5))
        #expect(rename(dir.path("elsewhere.bin").path, weights.path) == 0)
        #expect(try write(plan).digest == expected.digest)
    }

    @Test func aWriteWhileAStampedFileIsBeingTarredFailsTheLayer() throws {
        let dir = try TempDir("torn")
        defer { dir.remove() }
        let entries = try settledModel(dir)
        let weights = dir.path("model/weights.bin")
        let plan = try LayerPlan(spec: LayerSpec(name: "model", entries: entries), compressionLevel: 3)
        #expect(plan.stamps["model/weights.bin"] != nil)
        // The file is rewritten with its own bytes after its first chunk was read: the stamp at
        // open held (so it is not hashed), the one at the end does not.
        var rewritten = false
        #expect {
            try LayerBlobWriter.write(plan: plan, into: MemorySink(), compression: .zstd, level: 3, mtime: 0) { bytes in
                // weights.bin's one chunk (config.json, tarred before it, is 3 bytes).
                guard bytes == 300_000, !rewritten else { return }
                rewritten = true
                // In place (a rename would leave the open file's bytes as they were).
                let handle = try? FileHandle(forWritingTo: weights)
                try? handle?.write(contentsOf: Fixture.bytes(count: 300_000, seed: 5).prefix(16))
                try? handle?.close()
            }
        } throws: { "\($0)".contains("'\(weights.path)' changed while the layer was being written") }
        #expect(rewritten)
    }

    @Test func aFileInsideTheRacyWindowIsNotStamped() throws {
        let dir = try TempDir("racy")
        defer { dir.remove() }
        _ = try dir.write("model/weights.bin", Fixture.bytes(count: 1_000, seed: 1))
        let plan = try LayerPlan(spec: LayerSpec(name: "model", entries: [LayerEntry(imagePath: "/model", source: dir.path("model"))]),
                                 compressionLevel: 3)
        let item = try #require(plan.items.first { $0.kind == .file })
        #expect(item.digest != nil)
        #expect(plan.stamps.isEmpty)
    }
}
