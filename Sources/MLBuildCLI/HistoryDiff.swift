import ArgumentParser

/// What `metrics diff` and `params diff` share: the two sides, `--all` and `--json`.
struct HistoryDiffArguments: ParsableArguments {
    @Flag(help: "Include the entries that did not change.")
    var all = false

    @Flag(help: "Print JSON.")
    var json = false

    @Argument(help: ArgumentHelp("The old and the new side.", valueName: "A|B"))
    var sides: [String] = []
}

/// One entry of a per-target diff: a metric or a parameter, on each side (nil: absent there).
struct HistoryDiffRow<Value: Equatable> {
    var target: String
    var name: String
    var old: Value?
    var new: Value?

    /// Every (target, name) of either side, sorted, keeping only changed ones unless `all`.
    static func rows(old: [String: [String: Value]], new: [String: [String: Value]], all: Bool) -> [HistoryDiffRow] {
        var rows: [HistoryDiffRow] = []
        for target in Set(old.keys).union(new.keys).sorted() {
            let a = old[target] ?? [:], b = new[target] ?? [:]
            for name in Set(a.keys).union(b.keys).sorted() where all || a[name] != b[name] {
                rows.append(HistoryDiffRow(target: target, name: name, old: a[name], new: b[name]))
            }
        }
        return rows
    }
}
