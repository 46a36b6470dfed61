import ArgumentParser
import Foundation
import MLBuildDatasets
import MLBuildHistory

/// `mlbuild audit [--verify]`: the hash-chained audit log.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Print the audit log of builds, releases, approvals, promotions, rollbacks and pushes.",
        discussion: """
        The log is .mlbuild/audit.log: one JSON object per line, each carrying the SHA-256 of \
        the line before it (prev), and .mlbuild/audit.head the last line's number and hash. \
        --verify checks the whole chain and exits 1 naming the first entry that was edited, \
        removed, inserted or reordered.
        """)

    @OptionGroup var workspaceOptions: WorkspaceOptions

    @Flag(help: "Check the hash chain; exit 1 naming the first bad entry.")
    var verify = false

    @Flag(help: "Print the entries as JSON Lines (with each entry's hash).")
    var json = false

    @Option(help: ArgumentHelp("Only the last N entries.", valueName: "N"))
    var last: Int?

    func run() throws {
        let workspace = try workspaceOptions.workspace()
        let log = AuditLog(stateDirectory: workspace.stateDirectory)
        if verify {
            let (count, broken): (Int, AuditLog.Break?)
            do { (count, broken) = try log.verify() } catch { throw CLIError.message("\(error)") }
            if let broken {
                if json { print(CanonicalJSON.line(.object(["intact": .bool(false), "entries": .number(count), "first_bad_entry": .number(broken.line), "reason": .string(broken.reason)]))) }
                throw CLIError.message("audit log \(log.path) is not intact: \(broken)")
            }
            if json {
                print(CanonicalJSON.line(.object(["intact": .bool(true), "entries": .number(count)])))
            } else {
                print("audit log \(log.path): intact, \(count) entr\(count == 1 ? "y" : "ies")")
            }
            return
        }
        var entries: [AuditLog.Entry]
        do { entries = try log.entries() } catch { throw CLIError.message("\(log.path): \(error)") }
        if let last {
            guard last >= 1 else { throw CLIError.usage("--last must be at least 1") }
            entries = Array(entries.suffix(last))
        }
        for entry in entries {
            if json {
                print(CanonicalJSON.line(.object([
                    "seq": .number(entry.seq), "time": .string(entry.time), "who": .string(entry.who), "action": .string(entry.action),
                    "details": .object(entry.details.mapValues { .string($0) }), "prev": .string(entry.prev), "hash": .string(entry.hash),
                ])))
            } else {
                let details = entry.details.keys.sorted().map { "\($0)=\(entry.details[$0] ?? "")" }.joined(separator: " ")
                print("#\(entry.seq) \(entry.time) \(entry.who) \(entry.action) \(details)")
            }
        }
        if entries.isEmpty && !json { print("audit log \(log.path): empty") }
    }
}
