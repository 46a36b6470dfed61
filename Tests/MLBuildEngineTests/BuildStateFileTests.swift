import MLBuildCache
import MLBuildCore
import MLBuildEngine
import MLBuildTestSupport
import Testing

/// `.mlbuild/state` (BuildState): every field of a record survives a save and a load, the
/// witness present or not; a file of an older format or a damaged one reads as no state at
/// all, as a missing file does (everything is then checked against the cache again).
@Suite("build state file")
struct BuildStateFileTests {
    static let path = "/workspace/.mlbuild/state"

    func digest(_ text: String) -> ContentDigest {
        var hasher = StableHasher(domain: "test")
        hasher.append(text)
        return hasher.finalize()
    }

    func sample() -> BuildState {
        var state = BuildState()
        let summary = FingerprintSummary(ruleVersion: "3", parameters: [("run", digest("p"))], inputs: [("src/a.txt", digest("a"))],
                                         dependencies: [("task:b", digest("b"))], seed: 7, environment: [("HOME", digest("h"))],
                                         parameterValues: [("run", "cat a")])
        let result = ActionResult(outputs: [ActionResult.Output(path: "out/a.txt", digest: digest("o"), size: 3, executable: true),
                                            .symlink(path: "out/link", target: "a.txt"), .directory(path: "out/empty")])
        state.records[TargetReference(kind: "task", name: "a")] = .init(key: digest("k1"), result: result, summary: summary,
                                                                       witness: digest("w"))
        state.records[TargetReference(kind: "task", name: "b")] = .init(key: digest("k2"), result: result, summary: summary)
        return state
    }

    func described(_ state: BuildState) -> [String] {
        state.records.keys.sorted().compactMap { reference in
            guard let r = state.records[reference] else { return nil }
            let s = r.summary
            return "\(reference) \(r.key) \(r.witness.map(\.description) ?? "-") \(r.result.outputs.map { "\($0.path):\($0.kind):\($0.digest.map(\.description) ?? "-"):\($0.size):\($0.executable)" }) "
                + "\(s.ruleVersion) \(s.seed) \(s.parameters.map { "\($0.0)=\($0.1)" }) \(s.inputs.map { "\($0.0)=\($0.1)" }) "
                + "\(s.dependencies.map { "\($0.0)=\($0.1)" }) \(s.environment.map { "\($0.0)=\($0.1)" }) \(s.parameterValues.map { "\($0.0)=\($0.1)" })"
        }
    }

    @Test func everyFieldAndTheWitnessSurviveASaveAndALoad() throws {
        let disk = InMemoryDisk()
        let state = sample()
        try state.save(to: Self.path, disk: disk)
        let loaded = BuildState.load(from: Self.path, disk: disk)
        #expect(described(loaded) == described(state))
        #expect(loaded.records[TargetReference(kind: "task", name: "a")]?.witness == digest("w"))
        #expect(loaded.records[TargetReference(kind: "task", name: "b")]?.witness == nil)
    }

    @Test func anOlderFormatOrADamagedFileReadsAsNoState() throws {
        let disk = InMemoryDisk()
        #expect(BuildState.load(from: Self.path, disk: disk).records.isEmpty)
        try sample().save(to: Self.path, disk: disk)
        let bytes = try disk.readBytes(Self.path)
        // Version 3 (before the witness): the same bytes under the old version number.
        var older = bytes
        let versionOffset = Array("MLSTATE".utf8).count
        older.replaceSubrange(versionOffset ..< versionOffset + 4, with: [3, 0, 0, 0])
        try disk.writeAtomically(older, to: Self.path, mode: 0o644)
        #expect(BuildState.load(from: Self.path, disk: disk).records.isEmpty)
        // Cut short.
        try disk.writeAtomically(Array(bytes.prefix(bytes.count - 5)), to: Self.path, mode: 0o644)
        #expect(BuildState.load(from: Self.path, disk: disk).records.isEmpty)
    }
}
