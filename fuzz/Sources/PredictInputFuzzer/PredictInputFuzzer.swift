import MLBuildDatasets
import MLBuildRules
import ModelFuzzSupport

/// The models every input is scored with (trained once, in memory, before the first input).
let fuzzArtifacts: [ModelArtifact] = {
    do {
        return try ModelFuzz.artifacts()
    } catch {
        ModelFuzz.fail("cannot train the fuzz models: \(error)")
    }
}()

/// libFuzzer entry point: the input bytes are the CSV given to `mlbuild predict`. Each of a
/// logistic regression, a gradient-boosted and a linear model scores it; any outcome but output
/// rows or a row report / message (see `ModelFuzz.checkPredict`) aborts.
@_cdecl("LLVMFuzzerTestOneInput")
public func predictInputFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    for artifact in fuzzArtifacts {
        ModelFuzz.checkPredict(artifact, CSVSource(name: "rows.csv", bytes: bytes), records: nil)
    }
    return 0
}
