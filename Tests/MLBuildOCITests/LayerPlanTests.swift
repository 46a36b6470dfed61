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
