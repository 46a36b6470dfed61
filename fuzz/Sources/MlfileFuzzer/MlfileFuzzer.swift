import FuzzChecks

/// libFuzzer entry point: the input bytes are an Mlfile, checked by `MlfileChecks`. Anything but
/// diagnostics pointing inside the text — a trap, a stray error type, a location outside the
/// file — aborts, and libFuzzer keeps the input.
@_cdecl("LLVMFuzzerTestOneInput")
public func mlfileFuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    InvariantFailure.abortIfAny(MlfileChecks.violations(of: text), fuzzer: "MlfileFuzzer")
    return 0
}
