import FuzzChecks

/// libFuzzer entry point: the input bytes are a model.json. Decoding must succeed or throw a
/// `ModelArtifactError` naming the file; a model that decodes must then score rows of its own
/// schema without a trap, an unexpected error type or a non-finite score (`ModelChecks`).
@_cdecl("LLVMFuzzerTestOneInput")
public func modelJSONFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    InvariantFailure.abortIfAny(ModelChecks.violations(ofModelJSON: bytes).violations, fuzzer: "ModelJSONFuzzer")
    return 0
}
