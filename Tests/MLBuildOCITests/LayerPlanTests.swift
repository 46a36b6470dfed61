import Foundation
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
}
