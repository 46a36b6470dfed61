import MLBuildCache
import MLBuildCore

/// What the workspace remembers about each target between runs (`.mlbuild/state`): the key and
/// outputs of its last successful result, and the fingerprint summary for `--explain`.
///
/// On disk: magic `MLSTATE`, version (5), count, then per target: `KIND:NAME`, the byte length
/// of the rest of its record, then key, output count and outputs (path, kind: 0 file / 1
/// symlink / 2 empty directory, then for a file: digest, size, executable; for a symlink: its
/// target), rule version, seed, then the four (name, digest) lists: parameters, inputs,
/// dependencies, environment, then the shown parameter values (count, then name and value
/// each; `FingerprintSummary.displayableValue`), then the witness (a flag, and when set its 32
/// bytes). The length lets a reader skip the records it does not need (`load(from:only:)`).
///
/// A build that changed a few records out of many appends them to `.mlbuild/state.journal`
/// (magic `MLSTJRN`, version, then records as above; a length of 0 removes the target's
/// record) instead of writing the whole file again; a load applies the journal over the
/// file, and a whole save folds it in. A record is checked against the target's declared
/// outputs before it is believed (`DeclaredOutputs`), like any action result. Written
/// atomically; a damaged file is ignored (everything is then checked against the cache again),
/// a damaged journal too (its records are then taken from the file).
public struct BuildState: Sendable {
    public struct Record: Sendable {
        public var key: ContentDigest
        public var result: ActionResult
        public var summary: FingerprintSummary
        /// The evaluation witness the key was computed with (`EvaluationWitness`): when the next
        /// build computes the same one, `key` is the key without hashing or keying anything.
        /// nil = none (a derived parameter, a glob or directory input, a racy input).
        public var witness: ContentDigest?

        public init(key: ContentDigest, result: ActionResult, summary: FingerprintSummary, witness: ContentDigest? = nil) {
            self.key = key
            self.result = result
            self.summary = summary
            self.witness = witness
        }
    }

    public var records: [TargetReference: Record] = [:]
    /// Loaded for some targets only (`load(from:only:)`): saved by `saveChanges` alone.
    public private(set) var isPartial = false
    /// Bytes of the state file and of its journal when loaded (whether to fold the journal in).
    public private(set) var loadedBytes = (file: 0, journal: 0)

    static let magic = "MLSTATE"
    /// 4: the witness after the parameter values; 5: each record's length after its name. A file
    /// of another version is ignored.
    static let version: UInt32 = 5
    static let journalMagic = "MLSTJRN"

    public static func journalPath(of path: String) -> String { path + ".journal" }

    public init() {}

    /// The state at `path` with its journal applied. `only`: decode only these targets' records
    /// (the rest are skipped by length); such a state is partial and saved by `saveChanges`.
    public static func load(from path: String, only: Set<TargetReference>? = nil, disk: any DiskInterface = RealDisk()) -> BuildState {
        var state = BuildState()
        state.isPartial = only != nil
        guard let bytes = try? disk.readBytes(path),
              var reader = try? BinaryReader(bytes: bytes, magic: magic, version: version),
              (try? decode(&reader, into: &state, only: only, counted: true)) != nil else {
            return state.isPartial ? state : BuildState()
        }
        state.loadedBytes.file = bytes.count
        let journal = journalPath(of: path)
        guard let more = try? disk.readBytes(journal), !more.isEmpty else { return state }
        var copy = state
        if var r = try? BinaryReader(bytes: more, magic: journalMagic, version: version),
           (try? decode(&r, into: &copy, only: only, counted: false)) != nil {
            copy.loadedBytes.journal = more.count
            return copy
        }
        return state
    }

    /// Records into `state`: `count` of them when `counted`, else up to the end (a journal).
    private static func decode(_ r: inout BinaryReader, into state: inout BuildState, only: Set<TargetReference>?,
                               counted: Bool) throws {
        let count = counted ? try r.readCount(minimumItemSize: 48) : Int.max
        // Names are compared as stored (`reference.description`, as `write` puts them): parsing
        // 100,000 names to skip their records was a third of a partial load.
        let wanted = only.map { Set($0.map { ArraySlice($0.description.utf8) }) }
        var n = 0
        while n < count, counted || !r.isAtEnd {
            n += 1
            let name = try r.readStringBytes()
            let length = Int(try r.readUInt64())
            if let wanted, !wanted.contains(name) {
                _ = try r.raw(length, "a record")
                continue
            }
            guard let reference = TargetReference(parsing: String(decoding: name, as: UTF8.self)) else { throw BinaryReader.Malformed() }
            if length == 0 {
                state.records.removeValue(forKey: reference)
                continue
            }
            let end = r.offset + length
            state.records[reference] = try decodeRecord(&r)
            guard r.offset == end else { throw BinaryReader.Malformed() }
        }
    }

    private static func decodeRecord(_ r: inout BinaryReader) throws -> Record {
        let key = try r.readDigest()
        var outputs: [ActionResult.Output] = []
        for _ in 0..<(try r.readCount(minimumItemSize: 16)) {
            let path = try r.readString()
            switch try r.readUInt64() {
            case 0:
                outputs.append(ActionResult.Output(path: path, digest: try r.readDigest(),
                                                   size: try r.readUInt64(), executable: try r.readBool()))
            case 1: outputs.append(.symlink(path: path, target: try r.readString()))
            case 2: outputs.append(.directory(path: path))
            default: throw BinaryReader.Malformed()
            }
        }
        let ruleVersion = try r.readString()
        let seed = try r.readUInt64()
        var lists: [[(String, ContentDigest)]] = []
        for _ in 0..<4 {
            var list: [(String, ContentDigest)] = []
            for _ in 0..<(try r.readCount(minimumItemSize: 40)) { list.append((try r.readString(), try r.readDigest())) }
            lists.append(list)
        }
        var values: [(String, String)] = []
        for _ in 0..<(try r.readCount(minimumItemSize: 16)) { values.append((try r.readString(), try r.readString())) }
        let summary = FingerprintSummary(ruleVersion: ruleVersion, parameters: lists[0], inputs: lists[1],
                                         dependencies: lists[2], seed: seed, environment: lists[3], parameterValues: values)
        let witness = try r.readBool() ? try r.readDigest() : nil
        return Record(key: key, result: ActionResult(outputs: outputs), summary: summary, witness: witness)
    }

    /// Writes the whole state and folds the journal in. A partial state cannot be saved whole.
    public func save(to path: String, disk: any DiskInterface = RealDisk()) throws {
        guard !isPartial else { throw BinaryReader.Malformed("internal: a partial build state saved whole") }
        var w = BinaryWriter(magic: Self.magic, version: Self.version)
        w.write(UInt64(records.count))
        for reference in records.keys.sorted() {
            guard let record = records[reference] else { continue }
            Self.write(reference, record, to: &w)
        }
        try disk.writeAtomically(w.bytes, to: path)
        // Any order of a crash between the two is safe: a record is only ever believed
        // after its outputs and witness are checked, so an older one costs a check, not a wrong result.
        try? disk.removeTree(Self.journalPath(of: path))
    }

    /// Saves the records of `changed` targets (a removal for those without one now): appended
    /// to the journal when that is small next to the file (or the state is partial), else the
    /// whole state is written.
    public func saveChanges(_ changed: Set<TargetReference>, to path: String, disk: any DiskInterface = RealDisk()) throws {
        var w = BinaryWriter(magic: Self.journalMagic, version: Self.version)
        for reference in changed.sorted() {
            if let record = records[reference] {
                Self.write(reference, record, to: &w)
            } else {
                w.write(reference.description)
                w.write(UInt64(0))
            }
        }
        let journal = Self.journalPath(of: path)
        let existing = loadedBytes.journal > 0 ? (try? disk.readBytes(journal)) ?? [] : []
        let appended = existing.isEmpty ? w.bytes : existing + w.bytes.dropFirst(Self.journalMagic.utf8.count + 8)
        // A journal past a quarter of the file is folded in. A partial state cannot: the
        // incremental path steps aside once the journal outgrows the file, and the full path folds it.
        if !isPartial, loadedBytes.file == 0 || appended.count * 4 > loadedBytes.file {
            try save(to: path, disk: disk)
            return
        }
        try disk.writeAtomically(Array(appended), to: journal)
    }

    private static func write(_ reference: TargetReference, _ record: Record, to out: inout BinaryWriter) {
        var w = BinaryWriter()
        w.write(record.key)
        w.write(UInt64(record.result.outputs.count))
        for output in record.result.outputs {
            w.write(output.path)
            switch output.kind {
            case .file:
                w.write(UInt64(0))
                w.write(output.digest ?? .empty)
                w.write(output.size)
                w.write(output.executable)
            case let .symlink(target):
                w.write(UInt64(1))
                w.write(target)
            case .directory:
                w.write(UInt64(2))
            }
        }
        w.write(record.summary.ruleVersion)
        w.write(record.summary.seed)
        for list in [record.summary.parameters, record.summary.inputs, record.summary.dependencies, record.summary.environment] {
            w.write(UInt64(list.count))
            for (name, digest) in list {
                w.write(name)
                w.write(digest)
            }
        }
        w.write(UInt64(record.summary.parameterValues.count))
        for (name, value) in record.summary.parameterValues {
            w.write(name)
            w.write(value)
        }
        w.write(record.witness != nil)
        if let witness = record.witness { w.write(witness) }
        out.write(reference.description)
        out.write(UInt64(w.bytes.count))
        out.raw(w.bytes)
    }
}
