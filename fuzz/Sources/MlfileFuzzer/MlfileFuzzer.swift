import MLBuildCore
import MLBuildEngine
import MLBuildRules

#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer entry point: the input bytes are an Mlfile. It is parsed and resolved
/// (`Mlfile.load`, which throws only for bytes that are not text) and configured with the
/// built-in rules (`Project.load`, which reports the syntax and substitution errors too).
/// Any error must be a diagnostic that points inside the file and renders; anything else —
/// a trap, a stray error type, a location outside the text — aborts, and libFuzzer keeps the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func mlfileFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let source = SourceFile(path: "Mlfile", text: text)
    let environment = ["HOME": "/home/fuzz", "EMPTY": "", "N": "3"]
    let mlfile: Mlfile
    do {
        mlfile = try Mlfile.load(path: "Mlfile", text: text, environment: environment)
    } catch {
        check(error, source)
        return 0
    }
    for diagnostic in mlfile.diagnostics { check(diagnostic, source) }
    do {
        let project = try Project.load(mlfile: mlfile, registry: BuiltinRules.registry, seedOverride: nil)
        _ = project.graph.closure(of: project.graph.nodes)
    } catch {
        check(error, source)
    }
    return 0
}

private func check(_ error: any Error, _ source: SourceFile) {
    if let list = error as? DiagnosticList {
        if list.diagnostics.isEmpty { fail("an empty DiagnosticList was thrown") }
        for diagnostic in list.diagnostics { check(diagnostic, source) }
    } else if let diagnostic = error as? Diagnostic {
        check(diagnostic, source)
    } else {
        fail("unexpected error type \(type(of: error)): \(error)")
    }
}

/// A diagnostic must name a line of the file and a column on it (one past the end is allowed:
/// the caret of an empty value), and must render. The same check as the tests'
/// (`Diagnostic.placementProblem`).
private func check(_ diagnostic: Diagnostic, _ source: SourceFile) {
    if let problem = diagnostic.placementProblem(in: source) { fail(problem) }
    _ = diagnostic.rendered
}

private func fail(_ message: String) -> Never {
    let line = Array("MlfileFuzzer: invariant broken: \(message.prefix(2000))\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    abort()
}
