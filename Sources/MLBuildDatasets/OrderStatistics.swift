/// Order statistics without a full sort: `select` moves the k-th smallest value to index k for
/// every requested k (introselect: median-of-three quickselect with three-way partitioning,
/// recursing only into parts that hold a requested index, and falling back to sorting a part
/// after too many rounds so adversarial inputs stay O(n log n)). The values at the requested
/// indices are exactly those a full sort would put there.
enum OrderStatistics {
    static func select(_ a: inout [Double], positions: [Int]) {
        let wanted = Array(Set(positions.filter { $0 >= 0 && $0 < a.count })).sorted()
        guard !wanted.isEmpty else { return }
        a.withUnsafeMutableBufferPointer { buf in
            let depth = 2 * (Int.bitWidth - buf.count.leadingZeroBitCount) + 8
            select(buf, 0, buf.count, wanted[...], depth)
        }
    }

    private static func select(
        _ a: UnsafeMutableBufferPointer<Double>, _ lo: Int, _ hi: Int, _ wanted: ArraySlice<Int>, _ depth: Int
    ) {
        // `budget` bounds the partition rounds along this path (not across branches): each
        // round roughly halves the part, so ~2 log2(n) rounds mean the pivots are going badly.
        var budget = depth
        var lo = lo
        var hi = hi
        var wanted = wanted
        while !wanted.isEmpty {
            if hi - lo <= 32 || budget <= 0 {
                // Small or stubborn part: sort it outright.
                var part = UnsafeMutableBufferPointer(rebasing: a[lo ..< hi])
                part.sort()
                return
            }
            budget -= 1
            let mid = lo + (hi - lo) / 2
            let x = a[lo], y = a[mid], z = a[hi - 1]
            let pivot = max(min(x, y), min(max(x, y), z))
            // Three-way partition: [lo, lt) < pivot, [lt, i) == pivot, (gt, hi) > pivot.
            var lt = lo
            var i = lo
            var gt = hi - 1
            while i <= gt {
                let v = a[i]
                if v < pivot {
                    a.swapAt(lt, i)
                    lt += 1
                    i += 1
                } else if v > pivot {
                    a.swapAt(i, gt)
                    gt -= 1
                } else {
                    i += 1
                }
            }
            let left = wanted.prefix { $0 < lt }
            let right = wanted.drop { $0 <= gt }
            if !left.isEmpty, !right.isEmpty {
                select(a, lo, lt, left, budget)
                lo = gt + 1
                wanted = right
            } else if !left.isEmpty {
                hi = lt
                wanted = left
            } else {
                lo = gt + 1
                wanted = right
            }
        }
    }
}
