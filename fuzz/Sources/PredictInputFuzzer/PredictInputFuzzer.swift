import FuzzChecks
import MLBuildRules

/// The models every input is scored with (trained once, in memory, before the first input).
let fuzzArtifacts: [ModelArtifact] = {
    do {
        return try ModelChecks.artifacts()
    } catch {
        InvariantFailure.abort(fuzzer: "PredictInputFuzzer", ["cannot train the fuzz models: \(error)"])
    }
}()

/// libFuzzer entry point: the input bytes are the CSV given to `mlbuild predict`. Each of a
/// logistic regression, a gradient-boosted and a linear model scores it; any outcome but output
/// rows or a row report / message (see `ModelChecks.violations(scoring:with:records:)`) aborts.
@_cdecl("LLVMFuzzerTestOneInput")
public func predictInputFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let violations = fuzzArtifacts.flatMap { ModelChecks.violations(scoring: bytes, with: $0, records: nil) }
    InvariantFailure.abortIfAny(violations, fuzzer: "PredictInputFuzzer")
    return 0
}
