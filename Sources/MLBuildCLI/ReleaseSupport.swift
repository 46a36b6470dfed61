import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildDatasets
import MLBuildEngine
import MLBuildHistory
import MLBuildProvenance
import MLBuildRules

/// What the release commands share: who is acting, where releases and the audit log live,
/// and the facts of a built container target (`ReleasedImage`).
enum ReleaseSupport {
    /// `git config user.email`, else `$USER`/`$LOGNAME`, else "unknown".
    static func who(workspace: Workspace) -> String {
        GitRevision.userEmail(workspace: workspace.root) ?? HistoryRecorder.user(workspace.environment)
    }

    /// The run history's file when it exists (`--history`, `$MLBUILD_HISTORY`, the default),
    /// else `.mlbuild/releases.sqlite`.
    static func storePath(history: HistoryOptions, workspace: Workspace) -> String {
        let historyPath = history.path(in: workspace)
        return FileManager.default.fileExists(atPath: historyPath) ? historyPath : "\(workspace.stateDirectory)/releases.sqlite"
    }

    static func openStore(history: HistoryOptions, workspace: Workspace) throws -> ReleaseStore {
        let path = storePath(history: history, workspace: workspace)
        do { return try ReleaseStore(path: path) } catch { throw CLIError.message("cannot open the release database \(path): \(error)") }
    }

    static func audit(_ workspace: Workspace) -> AuditLog { AuditLog(stateDirectory: workspace.stateDirectory) }

    /// Appends to the audit log; a failure is an error (a release that cannot be audited is not made).
    static func record(_ workspace: Workspace, action: String, who: String, details: [String: String]) throws {
        do { try audit(workspace).append(action: action, who: who, details: details) } catch {
            throw CLIError.message("cannot append to the audit log: \(error)")
        }
    }

    /// Where a released target's image lives in the workspace: `build/container/NAME`
    /// (`container:NAME` as recorded).
    static func containerDirectory(_ target: String) -> String {
        "build/container/\(target.split(separator: ":", maxSplits: 1).last ?? "")"
    }

    /// A channel name: letters, digits, `.`, `_`, `-`.
    static func checkChannel(_ name: String) throws {
        guard !name.isEmpty, name.utf8.allSatisfy({ isalnum(Int32($0)) != 0 || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D }) else {
            throw CLIError.usage("bad channel name '\(name)': use letters, digits, '.', '_' and '-'")
        }
    }
}

/// A container target as built in the workspace, with the facts a release records: its action
/// key and output manifest (from the build state), the image's manifest digest, and the packed
/// model's digest, metrics and gates. Only a target that is fresh (built, nothing stale) is one.
struct ReleasedImage {
    var target: TargetReference
    var rule: ContainerRule
    var key: ContentDigest
    var result: ActionResult
    /// `sha256:…` of the image manifest.
    var imageDigest: String
    var imagePath: String
    var model: TargetReference?
    var modelDigest: String?
    /// The model's metrics.json `metrics` member and `gates` list (JSON text).
    var metrics: JSONValue
    var gates: JSONValue

    /// Loads the facts of `name` (`container:NAME`); refuses when it is not built and fresh.
    static func load(_ name: String, workspace: Workspace, project: Project) async throws -> ReleasedImage {
        guard let target = TargetReference(parsing: name), target.kind == ContainerRule.kind else {
            throw CLIError.usage("'\(name)' is not a container target (container:NAME)")
        }
        guard let rule = project.rules[target] as? ContainerRule else {
            throw CLIError.usage("no target \(target) in the Mlfile")
        }
        let builder = Builder(project: project, workspace: workspace, statCache: StatCache(path: workspace.statCachePath))
        let planned = await builder.plan([target], consultingRemote: false)
        if let stale = planned.first(where: { $0.action != .fresh }) {
            var why = stale.reason.map { ": \($0.description)" } ?? ""
            if why.contains("derived.signing") {
                why += " — it was built with another provenance signing key than --signing-key/MLBUILD_SIGNING_KEY_FILE names now"
            }
            throw CLIError.message("\(target) is not up to date (\(stale.target) \(stale.action == .run ? "would run" : "would be restored")\(why)); build it first: mlbuild \(target)")
        }
        let state = BuildState.load(from: workspace.statePath)
        guard let record = state.records[target] else {
            throw CLIError.message("\(target) has not been built here; build it first: mlbuild \(target)")
        }
        let digestText: String
        do { digestText = try String(contentsOfFile: rule.digestPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) } catch {
            throw CLIError.message("cannot read \(rule.digestPath): build \(target) first")
        }
        guard ContentDigest(prefixed: digestText) != nil else { throw CLIError.message("\(rule.digestPath) does not hold a sha256: digest") }
        var image = ReleasedImage(target: target, rule: rule, key: record.key, result: record.result, imageDigest: digestText,
                                  imagePath: rule.imagePath, model: nil, modelDigest: nil, metrics: .object([:]), gates: .array([]))
        if let model = rule.packed.first(where: { $0.kind == "model" }), let modelRule = project.rules[model],
           let directory = modelRule.outputs.first, let modelRecord = state.records[model] {
            image.model = model
            let normalized = PathNormalizer.normalize(directory)
            image.modelDigest = modelRecord.result.outputs.first { $0.path == "\(normalized)/model.json" }?.digest.map { "sha256:\($0.hex)" }
            if let bytes = try? FileSystem.readBytes("\(normalized)/metrics.json"),
               case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) {
                image.metrics = fields["metrics"] ?? .object([:])
                image.gates = fields["gates"] ?? .array([])
            }
        }
        return image
    }

    /// The source files its provenance.json names (`file:` dependencies), as JSON text
    /// `[{"path", "sha256"}]`; `[]` when there is none to read.
    func provenanceSources() -> String {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: rule.provenancePath)),
              let envelope = try? DSSEEnvelope(parsing: data, name: rule.provenancePath),
              let statement = try? ProvenanceStatement(payload: envelope.payload, name: rule.provenancePath) else { return "[]" }
        let list: [JSONValue] = statement.resolvedDependencies.compactMap { resource in
            resource.filePath.map { .object(["path": .string($0), "sha256": .string(resource.sha256)]) }
        }
        return CanonicalJSON.line(.array(list))
    }

    /// Every gate of the model's metrics.json evaluated again against its metrics; the first
    /// failing one's description, or nil when all pass.
    func failingGate() -> String? {
        guard case .array(let gates) = gates else { return "metrics.json's gates are not a list" }
        for gate in gates {
            guard case .object(let fields) = gate, case .string(let metric)? = fields["metric"], case .string(let op)? = fields["op"],
                  case .number(let threshold)? = fields["threshold"] else { return "a gate of metrics.json is malformed" }
            guard case .object(let values) = metrics, case .number(let value)? = values[metric] else {
                return "gate \(metric) \(op) \(CanonicalJSON.format(threshold)): the model has no \(metric)"
            }
            let holds: Bool
            switch op {
            case ">=": holds = value >= threshold
            case ">": holds = value > threshold
            case "<=": holds = value <= threshold
            case "<": holds = value < threshold
            case "==": holds = value == threshold
            default: return "gate \(metric) \(op) …: unknown operator"
            }
            if !holds || fields["passed"] != .bool(true) {
                return "gate \(metric) \(op) \(CanonicalJSON.format(threshold)) fails: \(metric) = \(CanonicalJSON.format(value))"
            }
        }
        return nil
    }
}
