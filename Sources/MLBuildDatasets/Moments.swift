/// Mean and population standard deviation (ddof 0) of finite values, without overflow.
///
/// The plain two-pass formula (sum in order, divide by n, then sum squared deviations) overflows
/// to infinity for values near the largest double (a column of 1e308). When the largest magnitude
/// is at least 2^480, every value is first divided by a power of two near it, so the sums stay
/// small, and the results are scaled back. Scaling by a power of two is exact, and below 2^480
/// nothing is scaled, so ordinary data gives the same bits as the plain formula; the mean and std
/// of finite values are then always finite (both lie within the values' magnitude).
struct Moments: Sendable, Equatable {
    var mean: Double
    var std: Double

    /// nil when `values` is empty. Values must be finite.
    init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        var largest = 0.0
        for v in values { largest = Swift.max(largest, abs(v)) }
        // Below 2^480, n · (2 · 2^480)^2 cannot overflow for any n < 2^60.
        let scale = largest >= 0x1p480 ? Double(sign: .plus, exponent: largest.exponent, significand: 1) : 1
        let n = Double(values.count)
        var sum = 0.0
        if scale == 1 {
            for v in values { sum += v }
        } else {
            for v in values { sum += v / scale }
        }
        let scaledMean = sum / n
        var ss = 0.0
        if scale == 1 {
            for v in values { ss += (v - scaledMean) * (v - scaledMean) }
        } else {
            for v in values {
                let d = v / scale - scaledMean
                ss += d * d
            }
        }
        if scale == 1 {
            mean = scaledMean
            std = (ss / n).squareRoot()
        } else {
            // |mean| and std never exceed the largest magnitude; a last rounding up must not
            // carry them past the largest double.
            mean = Swift.min(Swift.max(scaledMean * scale, -largest), largest)
            std = Swift.min((ss / n).squareRoot() * scale, largest)
        }
    }
}
