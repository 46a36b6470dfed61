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

    func many(_ n: Int) -> BuildState {
        var state = BuildState()
        let one = sample().records[TargetReference(kind: "task", name: "a")]
        for i in 0..<n { state.records[TargetReference(kind: "task", name: "t\(i)")] = one }
        return state
    }

    @Test func aFewChangedRecordsGoToTheJournalAndALoadAppliesIt() throws {
        let disk = InMemoryDisk()
        let journal = BuildState.journalPath(of: Self.path)
        try many(40).save(to: Self.path, disk: disk)
        let file = try disk.readBytes(Self.path)
        var state = BuildState.load(from: Self.path, disk: disk)
        let t1 = TargetReference(kind: "task", name: "t1"), t2 = TargetReference(kind: "task", name: "t2")
        state.records[t1]?.key = digest("new")
        state.records.removeValue(forKey: t2)
        try state.saveChanges([t1, t2], to: Self.path, disk: disk)
        #expect(try disk.readBytes(Self.path) == file, "the file is not written again")
        #expect(disk.exists(journal))
        let loaded = BuildState.load(from: Self.path, disk: disk)
        #expect(described(loaded) == described(state))
        // A partial load decodes only what it is asked for, journal applied.
        let partial = BuildState.load(from: Self.path, only: [t1, t2, TargetReference(kind: "task", name: "t3")], disk: disk)
        #expect(partial.isPartial)
        #expect(partial.records.keys.sorted() == [t1, TargetReference(kind: "task", name: "t3")])
        #expect(partial.records[t1]?.key == digest("new"))
        #expect(throws: (any Error).self) { try partial.save(to: Self.path, disk: disk) }
        // A whole save folds the journal in.
        try loaded.save(to: Self.path, disk: disk)
        #expect(!disk.exists(journal))
        #expect(described(BuildState.load(from: Self.path, disk: disk)) == described(state))
    }

    @Test func aJournalPastAQuarterOfTheFileIsFoldedInAndADamagedJournalIsIgnored() throws {
        let disk = InMemoryDisk()
        let journal = BuildState.journalPath(of: Self.path)
        try many(8).save(to: Self.path, disk: disk)
        var state = BuildState.load(from: Self.path, disk: disk)
        let changed = Set((0..<4).map { TargetReference(kind: "task", name: "t\($0)") })
        for target in changed { state.records[target]?.key = digest("changed") }
        try state.saveChanges(changed, to: Self.path, disk: disk)
        #expect(!disk.exists(journal), "half the records changed: the file is written whole")
        #expect(described(BuildState.load(from: Self.path, disk: disk)) == described(state))

        try many(40).save(to: Self.path, disk: disk)
        var again = BuildState.load(from: Self.path, disk: disk)
        let t5 = TargetReference(kind: "task", name: "t5")
        again.records[t5]?.key = digest("five")
        try again.saveChanges([t5], to: Self.path, disk: disk)
        let bytes = try disk.readBytes(journal)
        try disk.writeAtomically(Array(bytes.prefix(bytes.count - 3)), to: journal, mode: 0o644)
        let loaded = BuildState.load(from: Self.path, disk: disk)
        #expect(loaded.records.count == 40)
        #expect(loaded.records[t5]?.key == digest("k1"), "a damaged journal is ignored: the file's record stands")
    }
}

