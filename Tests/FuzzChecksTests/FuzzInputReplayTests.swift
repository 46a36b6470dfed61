import Foundation
import FuzzChecks
import MLBuildRules
import Testing

/// Where the fuzzers' inputs live: the seed corpora (fuzz/corpus/TARGET) and every input that
/// once broke an invariant (fuzz/regressions/TARGET; fuzz/run copies new crash inputs there).
enum FuzzInputs {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let targets = ["mlfile", "model-json", "predict-input"]

    /// The files of fuzz/corpus/TARGET and fuzz/regressions/TARGET, in name order.
    static func files(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        var out: [(String, [UInt8])] = []
        for folder in ["corpus", "regressions"] {
            let dir = repositoryRoot.appendingPathComponent("fuzz/\(folder)/\(target)")
            guard FileManager.default.fileExists(atPath: dir.path) else { continue }
            for name in try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() where !name.hasPrefix(".") {
                out.append(("\(folder)/\(target)/\(name)", Array(try Data(contentsOf: dir.appendingPathComponent(name)))))
            }
        }
        return out
    }
}

/// Every committed fuzz input, replayed in process through the fuzzers' own checks (the same
/// functions the libFuzzer binaries call), so a regression fails `swift test` and not only a
/// fuzzing session.
@Suite("fuzz corpus and regression replay")
struct FuzzInputReplayTests {
    @Test func everyTargetHasACorpusAndADictionary() throws {
        for target in FuzzInputs.targets {
            #expect(try FuzzInputs.files(target).count >= 5, "fuzz/corpus/\(target)")
            #expect(FileManager.default.fileExists(atPath: FuzzInputs.repositoryRoot.appendingPathComponent("fuzz/\(target).dict").path))
        }
    }

    @Test func mlfileInputsKeepTheInvariants() throws {
        for (name, bytes) in try FuzzInputs.files("mlfile") {
            #expect(MlfileChecks.violations(of: String(decoding: bytes, as: UTF8.self)) == [], "\(name)")
        }
    }

    @Test func modelJSONInputsKeepTheInvariants() throws {
        for (name, bytes) in try FuzzInputs.files("model-json") {
            #expect(ModelChecks.violations(ofModelJSON: bytes).violations == [], "\(name)")
        }
    }

    @Test func predictInputsKeepTheInvariants() throws {
        let artifacts = try ModelChecks.artifacts()
        #expect(artifacts.count == 3)
        for (name, bytes) in try FuzzInputs.files("predict-input") {
            for artifact in artifacts {
                #expect(ModelChecks.violations(scoring: bytes, with: artifact, records: nil) == [], "\(name)")
            }
        }
    }
}
