#if canImport(Glibc)
import Glibc
#endif

/// How a fuzzer reports broken invariants: one line each on stderr, then `abort()`, which
/// libFuzzer turns into a crash file holding the input (fuzz/run disables Swift's own
/// backtracer so that libFuzzer's signal handler is the one that runs).
public enum InvariantFailure {
    public static func abortIfAny(_ violations: [String], fuzzer: String) {
        guard !violations.isEmpty else { return }
        abort(fuzzer: fuzzer, violations)
    }

    public static func abort(fuzzer: String, _ violations: [String]) -> Never {
        for violation in violations {
            let line = Array("\(fuzzer): invariant broken: \(violation.prefix(2000))\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        }
        Glibc.abort()
    }
}
