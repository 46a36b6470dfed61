import MLBuildCache
import MLBuildCore

/// What the workspace remembers about each target between runs (`.mlbuild/state`): the key and
/// outputs of its last successful result, and the fingerprint summary for `--explain`.
///
/// On disk: magic `MLSTATE`, version (4), count, then per target: `KIND:NAME`, key, output count
/// and outputs (path, kind: 0 file / 1 symlink / 2 empty directory, then for a file: digest,
/// size, executable; for a symlink: its target), rule version, seed, then the four (name, digest)
/// lists: parameters, inputs, dependencies, environment, then the shown parameter values
/// (count, then name and value each; `FingerprintSummary.displayableValue`), then the witness
/// (a flag, and when set its 32 bytes). A record is checked against the
/// target's declared outputs before it is believed (`DeclaredOutputs`), like any action result. Written atomically at the end of every
/// build; a damaged file is ignored (everything is then checked against the cache again).
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

    static let magic = "MLSTATE"
    /// 4: the witness after the parameter values. A file of another version is ignored.
    static let version: UInt32 = 4

    public init() {}

    public static func load(from path: String, disk: any DiskInterface = RealDisk()) -> BuildState {
        guard let bytes = try? disk.readBytes(path),
              var reader = try? BinaryReader(bytes: bytes, magic: magic, version: version),
              let state = try? decode(&reader) else { return BuildState() }
        return state
    }

    private static func decode(_ r: inout BinaryReader) throws -> BuildState {
        var state = BuildState()
        let count = try r.readCount(minimumItemSize: 48)
        for _ in 0..<count {
            guard let reference = TargetReference(parsing: try r.readString()) else { throw BinaryReader.Malformed() }
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
            state.records[reference] = Record(key: key, result: ActionResult(outputs: outputs), summary: summary, witness: witness)
        }
        return state
    }

    public func save(to path: String, disk: any DiskInterface = RealDisk()) throws {
        var w = BinaryWriter(magic: Self.magic, version: Self.version)
        w.write(UInt64(records.count))
        let sorted = records.keys.sorted()
        for reference in sorted {
            guard let record = records[reference] else { continue }
            w.write(reference.description)
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
        }
        try disk.writeAtomically(w.bytes, to: path)
    }
}
