/// The one number format of the SVG files: at most `decimals` decimals (default 2), trailing
/// zeros dropped, no exponent, `-0` written `0`. Integer arithmetic after one rounding, so the
/// text is the same on every platform and locale. Non-finite values are written `0` (callers
/// clamp before drawing; a non-finite coordinate must not make an invalid file).
public enum SVGNumber {
    public static func format(_ x: Double) -> String { format(x, decimals: 2) }

    public static func format(_ x: Double, decimals: Int) -> String {
        let decimals = min(max(decimals, 0), 9)
        var power = 1.0
        for _ in 0 ..< decimals { power *= 10 }
        let scaledValue = (x * power).rounded()
        guard scaledValue.isFinite, abs(scaledValue) < 9e15 else { return x.isFinite ? (x < 0 ? "-9e15" : "9e15") : "0" }
        let scaled = Int64(scaledValue)
        if scaled == 0 { return "0" }
        let magnitude = scaled.magnitude
        let divisor = UInt64(power)
        var text = String(magnitude / divisor)
        var fraction = String(magnitude % divisor)
        if decimals > 0 {
            fraction = String(repeating: "0", count: decimals - fraction.count) + fraction
            while fraction.hasSuffix("0") { fraction.removeLast() }
            if !fraction.isEmpty { text += "." + fraction }
        }
        return (scaled < 0 ? "-" : "") + text
    }
}
