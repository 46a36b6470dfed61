import Testing
@testable import MLBuildTraining

/// The binner's radix sort must order exactly as the comparison sort does (up to the sign of
/// zero, which it normalizes).
@Suite struct DoubleRadixSortTests {
    @Test func sortsLikeTheStandardLibrary() {
        var rng = SplitMix64(seed: 5)
        var values = (0 ..< 5_000).map { _ in (rng.nextUnit() - 0.5) * 1e6 }
        values += [0, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                   .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1, 1, 1, -2.5, -2.5]
        values += (0 ..< 500).map { Double($0 % 3) }  // heavy repeats
        let sorted = DoubleRadixSort.sorted(values)
        #expect(sorted == values.sorted())
        #expect(!sorted.contains { $0 == 0 && $0.sign == .minus })
    }

    @Test func columnsThatShareBytesSkipPassesAndStaySorted() {
        // One-hot style columns: every key shares six of its eight bytes.
        let oneHot = (0 ..< 1_000).map { Double(($0 * 7919) % 2) }
        #expect(DoubleRadixSort.sorted(oneHot) == oneHot.sorted())
        #expect(DoubleRadixSort.sorted([3]) == [3])
        #expect(DoubleRadixSort.sorted([]) == [])
        #expect(DoubleRadixSort.sorted([-0.0]).first?.sign == .plus)
    }
}
