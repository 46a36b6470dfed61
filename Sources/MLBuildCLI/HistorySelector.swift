import Foundation
import MLBuildCore
import MLBuildEngine
import MLBuildHistory
import MLBuildRules

/// What `metrics diff` and `params diff` compare: `run:N` or `N` (a recorded run), `workspace`
/// (the Mlfile and the metrics.json files as they are now) or a git revision (`HEAD~1`, a tag,
/// a hash: resolved with `git rev-parse`, then the newest run recorded at that commit).
enum HistorySelector: Equatable {
    case run(Int64)
    case workspace
    case revision(String)
    /// Bare digits: a run id, unless no such run exists and it names a commit (an abbreviated
    /// hash, a tag); both at once is an error asking for `run:N` or more of the hash.
    case runOrRevision(Int64, String)

    init(parsing text: String) {
        if text == "workspace" { self = .workspace; return }
        if text.hasPrefix("run:"), let id = Int64(text.dropFirst(4)) { self = .run(id); return }
        if !text.isEmpty, text.allSatisfy(\.isASCIIDigit), let id = Int64(text) { self = .runOrRevision(id, text); return }
        self = .revision(text)
    }
}

private extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}

/// One side of a comparison: per target, its parameters and metrics.
struct HistorySnapshot {
    /// `run:7 (abc1234)`, `workspace`.
    var label: String
    var params: [String: [String: String]] = [:]
    var metrics: [String: [String: Double]] = [:]
}

/// Opens the history for the query commands and turns selectors into snapshots.
struct HistoryQuery {
    let workspace: Workspace
    let path: String
    let workspaceOptions: WorkspaceOptions

    init(workspaceOptions: WorkspaceOptions, historyOptions: HistoryOptions) throws {
        self.workspaceOptions = workspaceOptions
        workspace = try workspaceOptions.workspace()
        path = historyOptions.path(in: workspace)
    }

    /// The store; "no history yet" (exit 2) when there is no database.
    func store() throws -> HistoryStore {
        let store: HistoryStore?
        do { store = try HistoryStore.openExisting(path: path) } catch {
            throw CLIError.usage("cannot read the run history \(path): \(error)")
        }
        guard let store, try !store.isEmpty() else {
            throw CLIError.usage("no run history yet in \(path): a build records one")
        }
        return store
    }

    /// The run `text` names (`7` or `run:7`); exit 2 when there is none.
    func runID(_ text: String, store: HistoryStore) throws -> Int64 {
        let digits = text.hasPrefix("run:") ? String(text.dropFirst(4)) : text
        guard let id = Int64(digits), id > 0 else {
            throw CLIError.usage("'\(text)' is not a run id (write 7 or run:7; `mlbuild runs` lists them)")
        }
        guard try store.hasRun(id) else {
            throw CLIError.usage("no run \(id) in \(path)\(try recentRuns(store))")
        }
        return id
    }

    func recentRuns(_ store: HistoryStore) throws -> String {
        let runs = try store.runs(limit: 3)
        guard !runs.isEmpty else { return "" }
        return "; the newest runs: " + runs.map { "run:\($0.id) (\(RunsCommand.revision($0)))" }.joined(separator: ", ")
    }

    /// A selector's run id; nil for the workspace.
    func resolve(_ selector: HistorySelector, store: HistoryStore) throws -> Int64? {
        switch selector {
        case .workspace: return nil
        case let .run(id): return try runID("run:\(id)", store: store)
        case let .runOrRevision(id, text):
            let isRun = try store.hasRun(id)
            // A hash abbreviation of 4 digits or more, or a tag such as `2025`.
            let commit = GitRevision.resolve(text, workspace: workspace.root)
            if isRun, let commit {
                throw CLIError.usage("'\(text)' is both run \(id) and commit \(commit.prefix(12)): write run:\(id) for the run, or the full hash")
            }
            if isRun { return id }
            guard commit != nil else { return try runID("run:\(id)", store: store) }
            return try resolve(.revision(text), store: store)
        case let .revision(text):
            guard let commit = GitRevision.resolve(text, workspace: workspace.root) else {
                throw CLIError.usage("'\(text)' is neither run:N, workspace, nor a git revision of \(workspace.root)")
            }
            guard let id = try store.lastRun(atRevision: commit) else {
                throw CLIError.usage("no recorded run at \(text) (\(commit.prefix(7)))\(try recentRuns(store))")
            }
            return id
        }
    }

    /// The default old side: the newest run at HEAD (outside git: the newest run).
    func defaultRun(store: HistoryStore) throws -> Int64 {
        if let head = GitRevision.resolve("HEAD", workspace: workspace.root) {
            guard let id = try store.lastRun(atRevision: head) else {
                throw CLIError.usage("no recorded run at HEAD (\(head.prefix(7)))\(try recentRuns(store))")
            }
            return id
        }
        guard let id = try store.lastRun() else { throw CLIError.usage("no run history yet in \(path): a build records one") }
        return id
    }

    func snapshot(run id: Int64?, store: HistoryStore) throws -> HistorySnapshot {
        guard let id else { return try workspaceSnapshot() }
        guard let detail = try store.run(id) else { throw CLIError.usage("no run \(id) in \(path)") }
        var snapshot = HistorySnapshot(label: "run:\(id)")
        for target in detail.targets {
            snapshot.params[target.target] = Dictionary(target.params.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
            if !target.metrics.isEmpty {
                snapshot.metrics[target.target] = Dictionary(target.metrics.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
            }
        }
        return snapshot
    }

    /// The Mlfile's parameters now, and each model's metrics.json as it is in build/.
    func workspaceSnapshot() throws -> HistorySnapshot {
        let project = try workspaceOptions.project(in: workspace)
        var snapshot = HistorySnapshot(label: "workspace")
        for (target, configuration) in project.configurations {
            snapshot.params[target.description] = Dictionary(
                HistoryRecorder.parameters(configuration).map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
            if target.kind == ModelRule.kind {
                let metrics = HistoryRecorder.metrics(at: "\(workspace.root)/\(ModelRule.directory(target.name))/metrics.json")
                if !metrics.isEmpty { snapshot.metrics[target.description] = Dictionary(metrics.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }) }
            }
        }
        return snapshot
    }

    /// The two sides of `diff [A [B]]`: A defaults to the newest run at HEAD, B to the workspace.
    func sides(_ arguments: [String]) throws -> (HistorySnapshot, HistorySnapshot) {
        guard arguments.count <= 2 else { throw CLIError.usage("at most two runs or revisions to compare (got \(arguments.count))") }
        let store = try store()
        let old = try arguments.first.map { try resolve(HistorySelector(parsing: $0), store: store) } ?? defaultRun(store: store)
        let new = try arguments.count == 2 ? resolve(HistorySelector(parsing: arguments[1]), store: store) : nil
        return (try snapshot(run: old, store: store), try snapshot(run: new, store: store))
    }
}

/// Output helpers shared by the history commands.
enum HistoryOutput {
    /// A metric as people read it: 6 decimals at most, no exponent, no trailing zeros.
    static func number(_ x: Double) -> String {
        guard x.isFinite else { return "\(x)" }
        var text = String(format: "%.6f", x)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text == "-0" ? "0" : text
    }

    static func signed(_ x: Double) -> String {
        let text = number(x)
        return x > 0 && text != "0" ? "+" + text : text
    }

    /// `value`, or JSON null.
    static func orNull<T>(_ value: T?) -> Any { value.map { $0 as Any } ?? NSNull() }

    /// Pretty, key-sorted JSON (`null` for NSNull).
    static func json(_ object: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
