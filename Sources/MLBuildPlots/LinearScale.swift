/// Maps a data interval onto a pixel interval, with "nice" ticks (1, 2 or 5 × 10ᵏ apart).
public struct LinearScale: Sendable {
    public var domain: (lower: Double, upper: Double)
    public var range: (lower: Double, upper: Double)

    /// An empty or non-finite domain is widened to a unit interval around its value, so that
    /// every point maps to a finite pixel.
    public init(domain lower: Double, _ upper: Double, range from: Double, _ to: Double) {
        var lo = lower.isFinite ? lower : 0, hi = upper.isFinite ? upper : 1
        if hi < lo { swap(&lo, &hi) }
        if hi - lo < 1e-12 * max(1, abs(lo)) {
            lo -= 0.5
            hi += 0.5
        }
        domain = (lo, hi)
        range = (from, to)
    }

    public func callAsFunction(_ value: Double) -> Double {
        let v = value.isFinite ? min(max(value, domain.lower), domain.upper) : domain.lower
        return range.lower + (v - domain.lower) / (domain.upper - domain.lower) * (range.upper - range.lower)
    }

    /// The tick step: the nice number nearest (domain width / target).
    public func tickStep(target: Int = 5) -> Double {
        let raw = (domain.upper - domain.lower) / Double(max(target, 1))
        var power = 1.0
        while power * 10 <= raw { power *= 10 }
        while power > raw { power /= 10 }
        let fraction = raw / power
        let nice: Double = fraction < 1.5 ? 1 : fraction < 3.5 ? 2 : fraction < 7.5 ? 5 : 10
        return nice * power
    }

    /// Ticks inside the domain, multiples of `tickStep`.
    public func ticks(target: Int = 5) -> [Double] {
        let step = tickStep(target: target)
        let first = (domain.lower / step).rounded(.up)
        let last = (domain.upper / step).rounded(.down)
        guard first <= last, last - first < 1000 else { return [] }
        return stride(from: first, through: last, by: 1).map { $0 * step }
    }

    /// Decimals a tick label needs at this step (0.05 → 2, 10 → 0).
    public func tickDecimals(target: Int = 5) -> Int {
        var step = tickStep(target: target), decimals = 0
        while step < 0.999_999, decimals < 9 {
            step *= 10
            decimals += 1
        }
        return decimals
    }

    /// A domain including `values` and, optionally, zero, with 5% padding on each side.
    public static func paddedDomain(_ values: [Double], includeZero: Bool = false) -> (Double, Double) {
        let finite = values.filter(\.isFinite)
        var lo = finite.min() ?? 0, hi = finite.max() ?? 1
        if includeZero {
            lo = min(lo, 0)
            hi = max(hi, 0)
        }
        let pad = (hi - lo) * 0.05
        return (lo - pad, hi + pad)
    }
}
