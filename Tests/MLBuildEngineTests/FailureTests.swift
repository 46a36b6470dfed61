import MLBuildCore
import MLBuildEngine
import Testing

/// A failing command publishes nothing; `-k` goes on with what does not depend on it.
@Suite struct FailureTests {
    static let mlfile = """
        fake a
            inputs = src/a.txt
            outputs = out/a.txt

        fake b
            inputs = out/a.txt
            outputs = out/b.txt

        fake c
            outputs = out/c.txt

        """

    static func harness() -> EngineHarness {
        let engine = EngineHarness(mlfile)
        engine.disk.write("src/a.txt", "a\n")
        return engine
    }

    @Test func failedCommandLeavesNoOutputNoCacheEntryNoRecord() async throws {
        let engine = Self.harness()
        engine.runner.fail("fake:a")
        let built = try await engine.build(["a"])
        #expect(built.status("fake:a") == .failed)
        #expect(built.outcome("fake:a")?.message == "command exited with status 1")
        // The command wrote "partial" into out/a.txt: removed.
        #expect(!engine.disk.exists("out/a.txt"))
        #expect(engine.actionCacheEntries().isEmpty)
        #expect(engine.stateRecords().isEmpty)
        // Nothing remembered: the next build runs it again.
        engine.runner.stopFailing("fake:a")
        let again = try await engine.build(["a"])
        #expect(again.ran == ["fake:a"])
        #expect(again.status("fake:a") == .built)
    }

    @Test func failureAfterSuccessDropsTheRecordAndTheOutput() async throws {
        let engine = Self.harness()
        _ = try await engine.build(["a"])
        #expect(engine.stateRecords().count == 1)
        engine.disk.write("src/a.txt", "a2\n")
        engine.runner.fail("fake:a")
        let built = try await engine.build(["a"])
        #expect(built.status("fake:a") == .failed)
        #expect(!engine.disk.exists("out/a.txt"))
        #expect(engine.stateRecords().isEmpty)
        #expect(engine.actionCacheEntries().count == 1)  // the first build's entry only
    }

    @Test func missingDeclaredOutputFailsTheTarget() async throws {
        let engine = EngineHarness("""
            fake a
                run = nothing
                outputs = out/a.txt

            """)
        let built = try await engine.build()
        #expect(built.status("fake:a") == .failed)
        #expect(built.outcome("fake:a")?.message == "fake:a did not produce its output 'out/a.txt'")
        #expect(engine.actionCacheEntries().isEmpty)
        #expect(engine.stateRecords().isEmpty)
    }

    @Test func keepGoingBuildsIndependentTargetsAndSkipsDependents() async throws {
        let engine = Self.harness()
        engine.runner.fail("fake:a")
        let built = try await engine.build(keepGoing: true)
        #expect(built.statuses == ["fake:a: failed", "fake:b: skipped", "fake:c: built"])
        #expect(built.outcome("fake:b")?.message == "dependency fake:a did not build")
        #expect(built.ran == ["fake:a", "fake:c"])
        #expect(engine.disk.contents("out/c.txt") == "fake:c\n")
        #expect(Set(engine.stateRecords().keys.map(\.description)) == ["fake:c"])
    }

    @Test func withoutKeepGoingTheBuildStopsAfterAFailure() async throws {
        let engine = Self.harness()
        engine.runner.fail("fake:a")
        let built = try await engine.build(jobs: 1)
        #expect(built.statuses == ["fake:a: failed", "fake:b: skipped", "fake:c: skipped"])
        #expect(built.outcome("fake:c")?.message == "build stopped after a failure")
        #expect(built.ran == ["fake:a"])
        #expect(!engine.disk.exists("out/c.txt"))
    }

    @Test func cancelledCommandPublishesNothing() async throws {
        let engine = Self.harness()
        engine.runner.hold()
        let build = Task { try await engine.build(["a"]) }
        #expect(await engine.runner.waitUntilRunning(1))
        build.cancel()
        let built = try await build.value
        #expect(built.status("fake:a") != .built)
        #expect(!engine.disk.exists("out/a.txt"))
        #expect(engine.actionCacheEntries().isEmpty)
        #expect(engine.stateRecords().isEmpty)
        // The next build starts over.
        engine.runner.release()
        let again = try await engine.build(["a"])
        #expect(again.ran == ["fake:a"])
        #expect(again.status("fake:a") == .built)
    }
}
