/// Histogram storage for one fit, reused across nodes and trees.
///
/// Why: a histogram is features × 260 slots of (Σg, Σh) and a count (182 KB at 35 features).
/// Allocating one per node as Swift arrays cost a zero-fill, an allocation and, through class
/// properties, a dynamic exclusivity check on every bin access; on small data sets that was most
/// of the fit. Slots here are raw memory, handed out and taken back by index, so a tree of 31
/// leaves touches at most ~31 slots in all, allocated once.
///
/// Not thread-safe: only the grower's calling thread acquires and releases; parallel loops write
/// disjoint slots.
final class HistogramPool {
    struct Slot {
        let id: Int
        let sums: UnsafeMutablePointer<SIMD2<Double>>
        let counts: UnsafeMutablePointer<UInt32>
    }

    let binsPerSlot: Int
    /// The slot offsets rows can land in (each feature's value bins, and its missing bin when it
    /// had missing values): the only bins zeroed, subtracted and summed. A one-hot column uses 2
    /// of its 260, so the rest are never touched.
    let usedSpans: [Range<Int>]
    private var slots: [Slot] = []
    private var free: [Int] = []

    init(features: Int, usedSpans: [Range<Int>]) {
        binsPerSlot = features * HistogramTreeGrower.binStride
        self.usedSpans = usedSpans
    }

    deinit {
        for slot in slots {
            slot.sums.deallocate()
            slot.counts.deallocate()
        }
    }

    /// A slot whose contents are unspecified (callers zero it or overwrite its used bins).
    func acquire() -> Slot {
        if let id = free.popLast() { return slots[id] }
        let slot = Slot(id: slots.count, sums: .allocate(capacity: binsPerSlot), counts: .allocate(capacity: binsPerSlot))
        slots.append(slot)
        return slot
    }

    /// A slot whose used bins are zero.
    func acquireZeroed() -> Slot {
        let slot = acquire()
        zero(slot)
        return slot
    }

    /// Zeroes the used bins of `slot` (safe to call from a parallel loop on distinct slots).
    func zero(_ slot: Slot) {
        for span in usedSpans {
            (slot.sums + span.lowerBound).initialize(repeating: .zero, count: span.count)
            (slot.counts + span.lowerBound).initialize(repeating: 0, count: span.count)
        }
    }

    func release(_ slot: Slot) {
        free.append(slot.id)
    }
}
