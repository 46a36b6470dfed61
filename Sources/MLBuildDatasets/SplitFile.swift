import Foundation

/// `split.json` (see `FeatureBuilder`): which dataset rows went to train and test. Laid out by
/// hand into bytes because its three row lists hold a number per row (1.2 million for a
/// 1M-row dataset), and the generic path built a `JSONValue` and a string per number, a fifth
/// of the features step. `bytes()` is byte for byte `CanonicalJSON.serialize(json)` (tested).
struct SplitFile {
    var seed: UInt64
    /// The split fraction, nil when the test rows come from a holdout dataset.
    var split: Double?
    var stratify: Bool
    var trainRows: [Int]
    var testRows: [Int]
    var testLines: [Int]

    var testSource: String { split == nil ? "holdout" : "split" }

    /// The same document as a tree, for the generic serializer.
    var json: JSONValue {
        .object([
            "seed": .string(String(seed)),
            "split": split.map { .number($0) } ?? .null,
            "stratify": .bool(stratify),
            "test_source": .string(testSource),
            "train_rows": .array(trainRows.map { .number($0) }),
            "test_rows": .array(testRows.map { .number($0) }),
            "test_lines": .array(testLines.map { .number($0) }),
        ])
    }

    /// Canonical JSON: keys in UTF-8 order, two-space indentation, scalar arrays on one line.
    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256 + 8 * (trainRows.count + 2 * testRows.count))
        func text(_ s: String) { out.append(contentsOf: s.utf8) }
        func string(_ s: String) {
            var quoted = ""
            CanonicalJSON.writeString(s, into: &quoted)
            text(quoted)
        }
        func list(_ key: String, _ values: [Int], last: Bool = false) {
            text("  \"\(key)\": ")
            if values.isEmpty {
                text("[]")
            } else {
                out.append(UInt8(ascii: "["))
                for (i, v) in values.enumerated() {
                    if i > 0 { text(", ") }
                    number(v)
                }
                out.append(UInt8(ascii: "]"))
            }
            text(last ? "\n" : ",\n")
        }
        func number(_ v: Int) {
            // Row indices and line numbers: non-negative integers well below 2^53, which
            // CanonicalJSON prints as plain decimal.
            guard v >= 0, v < 1 << 53 else {
                text(CanonicalJSON.format(Double(v)))
                return
            }
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var n = v
            var count = 0
            withUnsafeMutableBytes(of: &digits) { d in
                repeat {
                    d[15 - count] = UInt8(ascii: "0") + UInt8(n % 10)
                    n /= 10
                    count += 1
                } while n > 0
                out.append(contentsOf: d[(16 - count)...])
            }
        }
        text("{\n  \"seed\": ")
        string(String(seed))
        text(",\n  \"split\": ")
        text(split.map(CanonicalJSON.format) ?? "null")
        text(",\n  \"stratify\": \(stratify ? "true" : "false"),\n")
        list("test_lines", testLines)
        list("test_rows", testRows)
        text("  \"test_source\": ")
        string(testSource)
        text(",\n")
        list("train_rows", trainRows, last: true)
        text("}\n")
        return out
    }
}
