import MLBuildCore
import MLBuildEngine
import MLBuildRules

/// Loads an Mlfile as `mlbuild` does (`Mlfile.load`, then `Project.load` with the built-in
/// rules) and checks every diagnostic against the placement invariant the fuzzer checks
/// (`Diagnostic.placementProblem`).
enum ProjectLoading {
    struct Outcome {
        var project: Project?
        var diagnostics: [Diagnostic] = []
        /// Broken invariants: a diagnostic outside the file, a stray error type.
        var problems: [String] = []

        /// `LINE:COLUMN: message` of each diagnostic, in the order reported.
        var messages: [String] {
            diagnostics.map { d in d.location.map { "\($0.line):\($0.column): \(d.message)" } ?? "-: \(d.message)" }
        }
    }

    static func load(_ text: String, environment: [String: String] = [:]) -> Outcome {
        let source = SourceFile(path: "Mlfile", text: text)
        var outcome = Outcome()
        do {
            let mlfile = try Mlfile.load(path: "Mlfile", text: text, environment: environment)
            outcome.project = try Project.load(mlfile: mlfile, registry: BuiltinRules.registry, seedOverride: nil)
        } catch let list as DiagnosticList {
            outcome.diagnostics = list.diagnostics
            if list.diagnostics.isEmpty { outcome.problems.append("an empty DiagnosticList was thrown") }
        } catch let diagnostic as Diagnostic {
            outcome.diagnostics = [diagnostic]
        } catch {
            outcome.problems.append("unexpected error type \(type(of: error)): \(error)")
        }
        for diagnostic in outcome.diagnostics {
            if let problem = diagnostic.placementProblem(in: source) { outcome.problems.append(problem) }
            _ = diagnostic.rendered
        }
        return outcome
    }
}
