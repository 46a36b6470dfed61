import MLBuildCore
import MLBuildEngine
import Testing

/// Order and concurrency: dependencies first, never more than `-j` commands at once.
@Suite struct SchedulingTests {
    /// a → b → d and a → c → d, plus an independent e.
    static let diamond = """
        fake a
            inputs = src/a.txt
            outputs = out/a.txt

        fake b
            inputs = out/a.txt, src/b.txt
            outputs = out/b.txt

        fake c
            inputs = out/a.txt
            outputs = out/c.txt

        fake d
            inputs = out/b.txt, out/c.txt
            outputs = out/d.txt

        fake e
            outputs = out/e.txt

        """

    static func diamondHarness() -> EngineHarness {
        let engine = EngineHarness(diamond)
        engine.disk.write("src/a.txt", "A\n")
        engine.disk.write("src/b.txt", "B\n")
        return engine
    }

    @Test func dependenciesRunBeforeTheirDependents() async throws {
        let engine = Self.diamondHarness()
        let built = try await engine.build(jobs: 1)
        #expect(built.ran == ["fake:a", "fake:b", "fake:c", "fake:d", "fake:e"])
        #expect(engine.runner.commands.last(where: { $0.hasPrefix("fake:d") }) == "fake:d: cat out/b.txt out/c.txt -> out/d.txt")
        #expect(built.summary.succeeded)
        // d read what b and c wrote, which read what a wrote.
        #expect(engine.disk.contents("out/d.txt") == "A\nB\nA\n")
        #expect(engine.disk.contents("out/e.txt") == "fake:e\n")
    }

    @Test func dependenciesRunFirstAtAnyJobCount() async throws {
        let engine = Self.diamondHarness()
        let built = try await engine.build(jobs: 4)
        let position = Dictionary(uniqueKeysWithValues: built.ran.enumerated().map { ($1, $0) })
        #expect(built.ran.count == 5)
        for (target, dependencies) in [("fake:b", ["fake:a"]), ("fake:c", ["fake:a"]), ("fake:d", ["fake:b", "fake:c"])] {
            for dependency in dependencies {
                #expect((position[dependency] ?? .max) < (position[target] ?? -1), "\(dependency) before \(target)")
            }
        }
        #expect(engine.disk.contents("out/d.txt") == "A\nB\nA\n")
    }

    static func independent(_ count: Int) -> String {
        (0..<count).map { "fake t\($0)\n    outputs = out/t\($0).txt\n" }.joined(separator: "\n")
    }

    @Test(arguments: [1, 2, 3])
    func neverMoreCommandsAtOnceThanJobs(jobs: Int) async throws {
        let engine = EngineHarness(Self.independent(6))
        engine.runner.hold()
        let build = Task { try await engine.build(jobs: jobs) }
        #expect(await engine.runner.waitUntilRunning(jobs))
        // Give the scheduler every chance to start one too many.
        try await Task.sleep(for: .milliseconds(20))
        #expect(engine.runner.running == jobs)
        engine.runner.release()
        let built = try await build.value
        #expect(built.summary.count(.built) == 6)
        #expect(engine.runner.maxRunning == jobs)
    }

    @Test func dependentWaitsForItsRunningDependency() async throws {
        let engine = Self.diamondHarness()
        engine.runner.hold()
        let build = Task { try await engine.build(["d", "e"], jobs: 4) }
        // a and e start; nothing else can until a is done.
        #expect(await engine.runner.waitUntilRunning(2))
        try await Task.sleep(for: .milliseconds(20))
        #expect(engine.runner.running == 2)
        engine.runner.release()
        let built = try await build.value
        #expect(Set(built.ran.prefix(2)) == ["fake:a", "fake:e"])
        #expect(built.summary.count(.built) == 5)
    }
}
