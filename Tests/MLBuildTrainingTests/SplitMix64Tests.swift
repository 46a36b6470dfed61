import Testing
@testable import MLBuildTraining

@Suite struct SplitMix64Tests {
    @Test func firstOutputsForSeedZeroMatchReference() {
        var rng = SplitMix64(seed: 0)
        #expect(rng.next() == 0xE220_A839_7B1D_CDAF)
        #expect(rng.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(rng.next() == 0x06C4_5D18_8009_454F)
    }

    @Test func fixedChunksDependOnlyOnTotal() {
        let chunks = FixedChunks(total: 100_000, rowsPerChunk: 16_384)
        #expect(chunks.count == 7)
        #expect(chunks.range(0) == 0 ..< 14_285)
        #expect(chunks.range(6) == 85_714 ..< 100_000)
        let sums = chunks.map { $0.count }
        #expect(sums.reduce(0, +) == 100_000)
        #expect(FixedChunks(total: 0).count == 1)
    }
}
