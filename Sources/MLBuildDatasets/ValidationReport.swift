/// Every rule a dataset violated, in schema column order then a fixed rule order, with
/// dataset-level rules last.
public struct ValidationReport: Sendable, Equatable, CustomStringConvertible {
    public var source: String
    public var rowCount: Int
    public var violations: [Violation]

    public init(source: String, rowCount: Int, violations: [Violation]) {
        self.source = source
        self.rowCount = rowCount
        self.violations = violations
    }

    public var passed: Bool { violations.isEmpty }

    public var description: String {
        if violations.isEmpty { return "\(source): \(rowCount) rows, all rules passed" }
        let n = violations.count
        return "\(source): validation failed, \(n) rule\(n == 1 ? "" : "s") violated:\n"
            + violations.map { "  " + $0.description }.joined(separator: "\n")
    }
}

/// Thrown when a dataset's quality gate fails; its description is the full report.
public struct DatasetValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var report: ValidationReport
    public init(report: ValidationReport) { self.report = report }
    public var description: String { report.description }
}
