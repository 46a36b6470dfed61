import Foundation

/// One temporary directory per test, removed when the test's closure returns.
func withTempDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("mlbuild-datasets-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

/// Every record of a CSV source as strings, with line numbers (header first, line 1).
func readAll(_ text: String) throws -> (header: [String], rows: [[String]], lines: [Int]) {
    var header: [String] = []
    var rows: [[String]] = []
    var lines: [Int] = []
    try CSVSourceProbe.scan(text) { h in header = h } batch: { r, l in
        rows.append(r)
        lines.append(l)
    }
    return (header, rows, lines)
}
