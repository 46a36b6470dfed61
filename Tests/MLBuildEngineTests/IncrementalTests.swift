import Foundation
import MLBuildCore
import MLBuildEngine
import Testing

/// What a second build does: nothing when nothing changed, the least when something did.
@Suite struct IncrementalTests {
    static let chain = """
        fake a
            run = first-line
            inputs = src/a.txt
            outputs = out/a.txt

        fake b
            inputs = out/a.txt
            outputs = out/b.txt

        fake c
            inputs = src/c.txt
            outputs = out/c.txt

        """

    static func harness() -> EngineHarness {
        let engine = EngineHarness(chain)
        engine.disk.write("src/a.txt", "first\nsecond\n")
        engine.disk.write("src/c.txt", "c\n")
        return engine
    }

    @Test func secondBuildRunsNothing() async throws {
        let engine = Self.harness()
        let first = try await engine.build()
        #expect(first.statuses == ["fake:a: built", "fake:b: built", "fake:c: built"])
        let second = try await engine.build()
        #expect(second.ran.isEmpty)
        #expect(second.statuses == ["fake:a: fresh", "fake:b: fresh", "fake:c: fresh"])
        #expect(second.explained.isEmpty)
    }

    @Test func unchangedInputIsNotHashedAgain() async throws {
        let engine = Self.harness()
        engine.disk.advanceClock(by: 10 * 1_000_000_000)  // src/c.txt is out of the racy window
        _ = try await engine.build()
        #expect(engine.disk.hashCount("src/c.txt") == 1)
        _ = try await engine.build()
        _ = try await engine.build()
        // The stat cache (read back from the disk each build) vouches for it.
        #expect(engine.disk.hashCount("src/c.txt") == 1)
    }

    @Test func inputWrittenWithinTheRacyWindowIsHashedAgain() async throws {
        let engine = Self.harness()
        // Written at the very moment of the first build: its stat cannot vouch for its content.
        _ = try await engine.build(["c"])
        #expect(engine.disk.hashCount("src/c.txt") == 1)
        _ = try await engine.build(["c"])
        #expect(engine.disk.hashCount("src/c.txt") == 2)
        _ = try await engine.build(["c"])
        #expect(engine.disk.hashCount("src/c.txt") == 2)
    }

    @Test func editedInputRebuildsItsTargetAndDependentsOnly() async throws {
        let engine = Self.harness()
        _ = try await engine.build()
        engine.disk.write("src/a.txt", "changed\nsecond\n")
        let built = try await engine.build()
        #expect(built.ran == ["fake:a", "fake:b"])
        #expect(built.statuses == ["fake:a: built", "fake:b: built", "fake:c: fresh"])
        #expect(built.explained["fake:a"] == RunReason(.inputChanged("src/a.txt")))
        #expect(built.explained["fake:b"] == RunReason(.inputChanged("out/a.txt")))
        #expect(engine.disk.contents("out/b.txt") == "changed\n")
    }

    @Test func dependencyRebuiltToIdenticalBytesDoesNotRebuildDependents() async throws {
        let engine = Self.harness()
        _ = try await engine.build()
        // Below the first line: a runs again and writes the same bytes.
        engine.disk.write("src/a.txt", "first\nanother second line\n")
        let built = try await engine.build()
        #expect(built.ran == ["fake:a"])
        #expect(built.statuses == ["fake:a: built", "fake:b: fresh", "fake:c: fresh"])
        #expect(engine.disk.contents("out/b.txt") == "first\n")
    }

    @Test func changedRuleParameterRebuildsTheTarget() async throws {
        let engine = Self.harness()
        _ = try await engine.build()
        engine.mlfile.withLock { $0 = $0.replacingOccurrences(of: "run = first-line", with: "run = cat") }
        let built = try await engine.build()
        #expect(built.ran == ["fake:a", "fake:b"])
        #expect(built.explained["fake:a"] == RunReason(.parameterChanged("run", values: .init(old: "first-line", new: "cat"))))
        #expect(engine.disk.contents("out/b.txt") == "first\nsecond\n")
    }
}
