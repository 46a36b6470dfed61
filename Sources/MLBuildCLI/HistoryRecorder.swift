import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildEngine
import MLBuildHistory
import MLBuildRules
import Synchronization

/// Records a build in the run history. The history never fails a build: the first problem (a
/// corrupt, locked or unwritable database) prints one warning naming the file, and the recorder
/// stops; the build's result and exit status are unchanged.
final class HistoryRecorder {
    let path: String
    private var store: HistoryStore?
    private var runID: Int64?
    /// Set once a problem was reported (and recording stopped).
    private(set) var warned = false
    /// The run's id once `finish` recorded it completely.
    private(set) var recordedRun: Int64?

    /// Opens the store and starts a run (an `exp run` variant's when `experiment` is its id).
    init(path: String, workspace: Workspace, mlfilePath: String, experiment: String? = nil, startedAt: Date = Date()) {
        self.path = path
        do {
            let store = try HistoryStore(path: path)
            let git = GitRevision.current(workspace: workspace.root)
            runID = try store.beginRun(NewRun(
                startedAt: startedAt, gitRevision: git?.commit, gitDirty: git?.dirty, user: Self.user(workspace.environment),
                commandLine: Self.commandLine(), mlfilePath: mlfilePath, experiment: experiment))
            self.store = store
        } catch {
            warn(error)
        }
    }

    /// Records every target of the build and ends the run.
    /// `othersFrom`: the run of the build the incremental path started from, whose
    /// other targets this run takes over as fresh (`summary` holds only the targets it built).
    func finish(_ summary: BuildSummary, project: Project, workspace: Workspace, othersFrom base: Int64? = nil,
                at finishedAt: Date = Date()) {
        guard let store, let runID else { return }
        let actionCache = ActionCache(layout: workspace.cache)
        let records = summary.outcomes.map { Self.record($0, project: project, workspace: workspace, actionCache: actionCache) }
        let exitStatus = summary.cancelled ? BuildCancellation.exitStatus : summary.succeeded ? 0 : 1
        do {
            if let base {
                try store.finishRun(runID, recording: records, othersFrom: base, at: finishedAt, exitStatus: exitStatus)
            } else {
                try store.finishRun(runID, recording: records, at: finishedAt, exitStatus: exitStatus)
            }
            recordedRun = runID
        } catch {
            warn(error)
        }
    }

    private func warn(_ error: any Error) {
        guard !warned else { return }
        warned = true
        store = nil
        MLBuildMain.printError("mlbuild: warning: run history not recorded: \(path): \(error)")
    }

    static func record(_ outcome: TargetOutcome, project: Project, workspace: Workspace, actionCache: ActionCache) -> TargetRecord {
        let target = outcome.target
        let configuration = project.configurations[target]
        var record = TargetRecord(
            target: target.description, kind: target.kind, status: outcome.status.rawValue, actionKey: outcome.key?.description,
            seconds: outcome.seconds, seed: configuration?.seed, params: parameters(configuration))
        // The builder hands over the result it verified; reading it back from the action cache
        // (a file read and a JSON decode per target) was most of recording a 10,000-target build.
        if let key = outcome.key, outcome.status != .failed, let result = outcome.result ?? actionCache.lookup(key) {
            for output in result.outputs {
                guard let digest = output.digest else { continue }
                record.outputs.append(.init(path: output.path, digest: digest.description))
                if Self.isMetricsFile(output.path) {
                    record.metrics += metrics(at: "\(workspace.root)/\(output.path)")
                }
            }
        }
        return record
    }

    /// Whether an output is a `metrics.json` (compared on UTF-8 bytes: bridging each output path
    /// to NSString for its last component was a tenth of recording 10,000 targets).
    static func isMetricsFile(_ path: String) -> Bool {
        path == "metrics.json" || path.utf8.suffix(13).elementsEqual("/metrics.json".utf8)
    }

    /// A target's Mlfile values as its rule sees them (the action key's canonical text; list
    /// items joined by ", "); a value holding a `${secret:…}` is `<secret>`, never its text.
    static func parameters(_ configuration: TargetConfiguration?) -> [TargetRecord.Parameter] {
        guard let configuration, let canonical = try? configuration.canonicalParameters() else { return [] }
        return canonical.map { name, value in
            if value.unicodeScalars.contains(ResolvedValue.secretOpen) { return .init(name: name, value: "<secret>") }
            return .init(name: name, value: Self.joinedListItems(value))
        }
    }

    /// A canonical list value (items separated by U+001F) with its items joined by ", ". On
    /// UTF-8 bytes: Foundation's `replacingOccurrences` bridged every value to NSString, a tenth
    /// of a 10,000-target build's time.
    static func joinedListItems(_ value: String) -> String {
        guard value.utf8.contains(0x1F) else { return value }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(value.utf8.count + 16)
        for byte in value.utf8 {
            if byte == 0x1F { bytes.append(44); bytes.append(32) } else { bytes.append(byte) }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The numeric members of a metrics.json's `metrics` object, sorted by name (decoded with
    /// JSONDecoder, which reads the shortest round-trip text metrics.json holds exactly).
    static func metrics(at path: String) -> [TargetRecord.Metric] {
        readMetrics(at: path) ?? []
    }

    /// The same; nil when the file is missing or is not a metrics.json.
    static func readMetrics(at path: String) -> [TargetRecord.Metric]? {
        guard let data = FileManager.default.contents(atPath: path),
              let file = try? JSONDecoder().decode(MetricsFile.self, from: data) else { return nil }
        return file.metrics.keys.sorted().compactMap { name in
            file.metrics[name]?.number.map { .init(name: name, value: $0) }
        }
    }

    private struct MetricsFile: Decodable {
        var metrics: [String: Member]
    }

    /// A number, or anything else (a confusion matrix), which is left out.
    private struct Member: Decodable {
        var number: Double?
        init(from decoder: any Decoder) throws {
            number = try? decoder.singleValueContainer().decode(Double.self)
        }
    }

    static func user(_ environment: [String: String]) -> String {
        if let user = environment["USER"] ?? environment["LOGNAME"], !user.isEmpty { return user }
        if let entry = getpwuid(getuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return String(getuid())
    }

    /// `mlbuild ARGS…` as typed, arguments with spaces or quotes single-quoted.
    static func commandLine() -> String {
        (["mlbuild"] + CommandLine.arguments.dropFirst()).map { argument in
            let plain = !argument.isEmpty && argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./:=,+@%".contains($0) }
            return plain ? argument : "'" + argument.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }.joined(separator: " ")
    }
}
