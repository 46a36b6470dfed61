import ArgumentParser

/// The options every workspace command shares (`-C`, `-f`, `--cache-dir`, `--seed`) and the
/// build options (`-j`, `-k`, `-n`, `--explain`, `--events`, the remote cache), accepted
/// before the subcommand as well as after it, as `make -C dir target` and `ninja -j4` users
/// type them: `mlbuild --cache-dir X cache gc --max-size 1G` is read as
/// `mlbuild cache gc --cache-dir X --max-size 1G`. `-jN` is split into `-j N`
/// (swift-argument-parser reads `-j4` as the flags `-j` and `-4`).
///
/// Only moves arguments; the subcommand's own parser then accepts or rejects each one
/// (`mlbuild -j4 status` is an error, as `mlbuild status -j4` is).
enum GlobalOptions {
    /// Options that take a value (in the next argument, or after `=` for long names).
    static let valued: Set<String> = ["-f", "--file", "-C", "--cache-dir", "--seed", "-j", "--jobs", "--events",
                                      "--remote-cache", "--remote-upload", "--remote-header-file", "--remote-timeout", "--history",
                                      "--mlflow", "--mlflow-experiment"]
    static let flags: Set<String> = ["-k", "-n", "--dry-run", "--explain"]

    static func reordered(_ arguments: [String], root: any ParsableCommand.Type = MLBuildCommand.self) -> [String] {
        let split = splittingJoinedJobs(arguments)
        var moved: [String] = []
        var path: [String] = []
        var candidates = root.configuration.subcommands
        var i = 0
        scanning: while i < split.count {
            let argument = split[i]
            if argument == "--" { break }
            if flags.contains(argument) {
                moved.append(argument)
                i += 1
                continue
            }
            if valued.contains(argument), i + 1 < split.count {
                moved.append(contentsOf: split[i...(i + 1)])
                i += 2
                continue
            }
            if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "="), valued.contains(String(argument[..<equals])) {
                moved.append(argument)
                i += 1
                continue
            }
            guard let command = candidates.first(where: { $0._commandName == argument }) else { break scanning }
            path.append(argument)
            candidates = command.configuration.subcommands
            i += 1
            if candidates.isEmpty { break }
        }
        // No subcommand named after the options: they belong to the default one, where they are.
        guard !path.isEmpty, !moved.isEmpty else { return split }
        return path + moved + split[i...]
    }

    /// `-j4` → `-j 4` (not after an option that takes it as its value, nor after `--`).
    static func splittingJoinedJobs(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var takesValue = false
        for (index, argument) in arguments.enumerated() {
            if argument == "--" {
                out.append(contentsOf: arguments[index...])
                break
            }
            if !takesValue, argument.count > 2, argument.hasPrefix("-j"), argument.dropFirst(2).allSatisfy(\.isASCII),
               argument.dropFirst(2).allSatisfy(\.isNumber) {
                out.append("-j")
                out.append(String(argument.dropFirst(2)))
                continue
            }
            takesValue = !takesValue && valued.contains(argument)
            out.append(argument)
        }
        return out
    }
}
