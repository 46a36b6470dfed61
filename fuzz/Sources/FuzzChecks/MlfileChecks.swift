import MLBuildCore
import MLBuildEngine
import MLBuildRules

/// The invariants the Mlfile fuzzer holds the parser, resolver and rule configuration to,
/// shared with the in-process replay tests (Tests/FuzzChecksTests). An input is an Mlfile; it is
/// loaded (`Mlfile.load`) and, when that succeeds, configured with the built-in rules
/// (`Project.load`) and its graph walked. Every error must be a non-empty list of diagnostics
/// that point inside the file and render.
public enum MlfileChecks {
    /// The environment the fuzzer resolves `${env:…}` against (fixed: results must not depend on
    /// the machine).
    public static let environment = ["HOME": "/home/fuzz", "EMPTY": "", "N": "3"]

    /// The broken invariants of loading `text` (empty when all hold).
    public static func violations(of text: String) -> [String] {
        let source = SourceFile(path: "Mlfile", text: text)
        let mlfile: Mlfile
        do {
            mlfile = try Mlfile.load(path: "Mlfile", text: text, environment: environment)
        } catch {
            return violations(of: error, in: source)
        }
        var violations = mlfile.diagnostics.flatMap { self.violations(of: $0, in: source) }
        do {
            let project = try Project.load(mlfile: mlfile, registry: BuiltinRules.registry, seedOverride: nil)
            _ = project.graph.closure(of: project.graph.nodes)
        } catch {
            violations += self.violations(of: error, in: source)
        }
        return violations
    }

    static func violations(of error: any Error, in source: SourceFile) -> [String] {
        if let list = error as? DiagnosticList {
            if list.diagnostics.isEmpty { return ["an empty DiagnosticList was thrown"] }
            return list.diagnostics.flatMap { violations(of: $0, in: source) }
        }
        if let diagnostic = error as? Diagnostic { return violations(of: diagnostic, in: source) }
        return ["unexpected error type \(type(of: error)): \(error)"]
    }

    /// A diagnostic must name a line of the file and a column on it (one past the end is allowed:
    /// the caret of an empty value; `Diagnostic.placementProblem`, which the Core tests use too),
    /// and must render.
    public static func violations(of diagnostic: Diagnostic, in source: SourceFile) -> [String] {
        if let problem = diagnostic.placementProblem(in: source) { return [problem] }
        _ = diagnostic.rendered
        return []
    }
}
