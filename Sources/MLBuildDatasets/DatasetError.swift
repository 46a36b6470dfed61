/// Errors of this module that are not a validation report: bad input files and bad options.
/// Each names the file (and line) or the option at fault.
public enum DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A malformed CSV: `path:line: message`.
    case csv(path: String, line: Int, message: String)
    /// Header / schema mismatch (undeclared or missing columns, duplicate header names).
    case header(path: String, message: String)
    /// A bad Mlfile option value: the key and what is wrong (`offset` in Characters into the value
    /// when known).
    case option(key: String, offset: Int?, message: String)
    /// A features/transform problem that names the column.
    case features(message: String)
    /// A binary artifact that is truncated or of the wrong kind.
    case format(path: String, message: String)
    case io(path: String, message: String)

    public var description: String {
        switch self {
        case .csv(let path, let line, let message): "\(path):\(line): \(message)"
        case .header(let path, let message): "\(path): \(message)"
        case .option(let key, let offset, let message):
            offset.map { "option '\(key)' (offset \($0)): \(message)" } ?? "option '\(key)': \(message)"
        case .features(let message): message
        case .format(let path, let message): "\(path): \(message)"
        case .io(let path, let message): "\(path): \(message)"
        }
    }
}
