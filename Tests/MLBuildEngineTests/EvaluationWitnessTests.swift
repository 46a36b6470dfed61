import MLBuildCore
import MLBuildEngine
import MLBuildTestSupport
import Testing

/// The evaluation witness (`EvaluationWitness`): a target whose state record's witness holds is
/// fresh without its key being computed; anything its key depends on that moved makes it
/// compute the key, and rebuild with the reason a full evaluation gives.
@Suite struct EvaluationWitnessTests {
    static let mlfile = """
        seed = 1

        fake a
            run = first-line
            inputs = src/a.txt
            outputs = out/a.txt

        fake b
            inputs = out/a.txt
            outputs = out/b.txt

        probe p
            inputs = src/p.txt
            outputs = out/p.txt
            env = MODE

        """

    /// Built once with every input out of the racy window: every record has a witness.
    static func built() async throws -> EngineHarness {
        let engine = EngineHarness(mlfile, rules: [FakeRule.self, ProbeRule.self])
        engine.disk.write("src/a.txt", "first\nsecond\n")
        engine.disk.write("src/p.txt", "p\n")
        engine.environment.withLock { $0["MODE"] = "fast" }
        engine.disk.advanceClock(by: 10 * InMemoryDisk.tick)
        let first = try await engine.build()
        #expect(first.statuses == ["fake:a: built", "fake:b: built", "probe:p: built"])
        #expect(first.keysComputed == 3)
        return engine
    }

    @Test func untouchedTargetsAreFreshWithoutComputingTheirKeys() async throws {
        let engine = try await Self.built()
        #expect(engine.stateRecords().values.allSatisfy { $0.witness != nil })
        let keys = engine.stateRecords().mapValues(\.key)
        let second = try await engine.build()
        #expect(second.statuses == ["fake:a: fresh", "fake:b: fresh", "probe:p: fresh"])
        #expect(second.keysComputed == 0)
        #expect(second.ran.isEmpty)
        #expect(second.explained.isEmpty)
        // The records keep their keys and witnesses.
        #expect(engine.stateRecords().mapValues(\.key) == keys)
        #expect(engine.stateRecords().values.allSatisfy { $0.witness != nil })
        #expect(engine.disk.hashCount("src/a.txt") == 1)
    }

    @Test func anInputWithNewContentOfTheSameSizeRebuilds() async throws {
        let engine = try await Self.built()
        engine.disk.write("src/a.txt", "FIRST\nsecond\n")
        let built = try await engine.build()
        #expect(built.statuses == ["fake:a: built", "fake:b: built", "probe:p: fresh"])
        #expect(built.explained["fake:a"] == RunReason(.inputChanged("src/a.txt")))
        #expect(built.explained["fake:b"] == RunReason(.inputChanged("out/a.txt")))
        // a (its input changed) and b (its dependency's output did); p's witness held.
        #expect(built.keysComputed == 2)
        #expect(engine.disk.contents("out/b.txt") == "FIRST\n")
    }

    @Test func aDependencyRebuiltWithTheSameOutputLeavesItsDependentsWitnessStanding() async throws {
        let engine = try await Self.built()
        engine.disk.write("src/a.txt", "first\nSECOND\n")   // first-line: out/a.txt is the same
        let built = try await engine.build()
        #expect(built.statuses == ["fake:a: built", "fake:b: fresh", "probe:p: fresh"])
        #expect(built.keysComputed == 1)
    }

    @Test func anOutputModifiedOnDiskIsRestoredEvenWhenTheWitnessHolds() async throws {
        let engine = try await Self.built()
        engine.disk.write("out/a.txt", "tampered\n")
        let built = try await engine.build()
        #expect(built.statuses == ["fake:a: restored", "fake:b: fresh", "probe:p: fresh"])
        #expect(built.explained["fake:a"] == RunReason(.outputMissingOrModified("out/a.txt"), .localCache))
        #expect(engine.disk.contents("out/a.txt") == "first\n")
    }

    @Test func aChangedParameterRebuilds() async throws {
        let engine = try await Self.built()
        engine.mlfile.withLock { $0 = $0.replacingOccurrences(of: "run = first-line", with: "run = cat") }
        let built = try await engine.build()
        #expect(built.statuses == ["fake:a: built", "fake:b: built", "probe:p: fresh"])
        #expect(built.explained["fake:a"] == RunReason(.parameterChanged("run", values: .init(old: "first-line", new: "cat"))))
        #expect(built.keysComputed == 2)
    }

    @Test func aChangedSeedRebuildsOnlyKindsThatUseIt() async throws {
        let engine = try await Self.built()
        engine.mlfile.withLock { $0 = $0.replacingOccurrences(of: "seed = 1", with: "seed = 2") }
        let built = try await engine.build()
        #expect(built.statuses == ["fake:a: fresh", "fake:b: fresh", "probe:p: built"])
        #expect(built.explained["probe:p"] == RunReason(.seedChanged))
        #expect(built.keysComputed == 1)
    }

    @Test func aChangedEnvironmentValueRebuilds() async throws {
        let engine = try await Self.built()
        engine.environment.withLock { $0["MODE"] = "slow" }
        let changed = try await engine.build()
        #expect(changed.statuses == ["fake:a: fresh", "fake:b: fresh", "probe:p: built"])
        #expect(changed.explained["probe:p"] == RunReason(.environmentChanged("MODE")))
        #expect(changed.keysComputed == 1)
        engine.environment.withLock { $0["MODE"] = nil }
        let unset = try await engine.build()
        #expect(unset.statuses == ["fake:a: fresh", "fake:b: fresh", "probe:p: built"])
        #expect(unset.explained["probe:p"] == RunReason(.environmentChanged("MODE")))
    }

    @Test func aRuleWithDerivedParametersComputesItsKeyEveryTime() async throws {
        let engine = EngineHarness("""
            probe d
                inputs = src/d.txt
                outputs = out/d.txt
                derived = one

            """, rules: [ProbeRule.self])
        engine.disk.write("src/d.txt", "d\n")
        engine.disk.advanceClock(by: 10 * InMemoryDisk.tick)
        _ = try await engine.build()
        #expect(engine.stateRecords().values.allSatisfy { $0.witness == nil })
        let again = try await engine.build()
        #expect(again.statuses == ["probe:d: fresh"])
        #expect(again.keysComputed == 1)
        engine.mlfile.withLock { $0 = $0.replacingOccurrences(of: "derived = one", with: "derived = two") }
        let changed = try await engine.build()
        #expect(changed.statuses == ["probe:d: built"])
        #expect(changed.explained["probe:d"] == RunReason(.parameterChanged("derived", values: .init(old: "one", new: "two"))))
    }

    @Test func anInputInTheRacyWindowLeavesNoWitness() async throws {
        let engine = EngineHarness(IncrementalTests.chain)
        engine.disk.write("src/c.txt", "c\n")   // written at the moment of the build
        _ = try await engine.build(["c"])
        #expect(engine.stateRecords()[TargetReference(kind: "fake", name: "c")]?.witness == nil)
        let second = try await engine.build(["c"])
        #expect(second.keysComputed == 1)
        #expect(engine.stateRecords()[TargetReference(kind: "fake", name: "c")]?.witness != nil)
        let third = try await engine.build(["c"])
        #expect(third.keysComputed == 0)
    }

    @Test func aGlobInputNeverTakesTheShortcut() async throws {
        let engine = EngineHarness("""
            fake all
                inputs = src/*.txt
                outputs = out/all.txt

            """)
        engine.disk.write("src/1.txt", "1\n")
        engine.disk.advanceClock(by: 10 * InMemoryDisk.tick)
        _ = try await engine.build()
        let again = try await engine.build()
        #expect(again.statuses == ["fake:all: fresh"])
        #expect(again.keysComputed == 1)
        engine.disk.write("src/2.txt", "2\n")
        let added = try await engine.build()
        #expect(added.statuses == ["fake:all: built"])
        #expect(added.explained["fake:all"] == RunReason(.inputChanged("src/2.txt")))
    }
}
