import Foundation
import MLBuildDatasets
import MLBuildRules
import ModelFuzzSupport

/// libFuzzer entry point: the input bytes are a model.json. Decoding (`ModelArtifact.decode`)
/// must succeed or throw a `ModelArtifactError` naming the file; a model that decodes must then
/// score rows of its own schema without a trap, an unexpected error type or a non-finite score.
@_cdecl("LLVMFuzzerTestOneInput")
public func modelJSONFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(UnsafeBufferPointer(start: data, count: size))
    let artifact: ModelArtifact
    do {
        artifact = try ModelArtifact.decode(bytes, path: "model.json")
    } catch let error as ModelArtifactError {
        if !error.description.hasPrefix("model.json: ") { ModelFuzz.fail("error does not name the file: \(error.description)") }
        return 0
    } catch {
        ModelFuzz.fail("unexpected error type \(type(of: error)): \(error)")
    }
    for csv in ModelFuzz.rows(for: artifact.transform.schema) {
        ModelFuzz.checkPredict(artifact, CSVSource(name: "rows.csv", bytes: csv), records: 1)
    }
    return 0
}
