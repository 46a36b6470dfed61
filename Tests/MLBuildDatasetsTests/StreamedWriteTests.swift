import Foundation
import MLBuildBasics
import MLBuildTraining
import Testing
@testable import MLBuildDatasets

/// data.bin, train.bin and test.bin are streamed from the values in memory (`AtomicFile.stream`)
/// instead of being encoded into a second copy first.
@Suite struct StreamedWriteTests {
    struct Refused: Error {}

    @Test func streamedPiecesLandInOrderAndAFailedBodyLeavesTheOldFile() throws {
        try withTempDirectory { dir in
            let path = dir.appendingPathComponent("out.bin").path
            let big = (0 ..< 3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            try AtomicFile.stream(to: path) { stream in
                try stream.write(Array("head".utf8))
                try stream.write(big)  // larger than the 1 MiB buffer: written straight through
                for i in 0 ..< 300_000 { try stream.write([UInt8(truncatingIfNeeded: i)]) }  // fills the buffer many times
                #expect(stream.bytesWritten == 4 + 3_000_000 + 300_000)
            }
            let expected = Array("head".utf8) + big + (0 ..< 300_000).map { UInt8(truncatingIfNeeded: $0) }
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == expected)

            #expect(throws: Refused.self) {
                try AtomicFile.stream(to: path) { stream in
                    try stream.write(big)
                    throw Refused()
                }
            }
            #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == expected)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["out.bin"])
        }
    }

    @Test func aFeatureMatrixFileHoldsItsInMemoryEncoding() throws {
        try withTempDirectory { dir in
            let values = (0 ..< 600_000).map { Double($0) * 0.37 - 1e5 }
            for labels in [nil, (0 ..< 200_000).map { Double($0 % 2) }] as [[Double]?] {
                let m = FeatureMatrix(features: Matrix(rows: 200_000, columns: 3, values: values), labels: labels)
                let url = dir.appendingPathComponent("m.bin")
                try m.write(to: url)
                #expect(Array(try Data(contentsOf: url)) == m.binaryData())
                #expect(try FeatureMatrix.read(from: url) == m)
            }
        }
    }
}
