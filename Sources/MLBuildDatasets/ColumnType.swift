/// The declared type of one dataset column.
///
/// `category` carries its allowed values in declaration order; that order is the dictionary-code
/// order in `data.bin` and the one-hot order in features, so it is part of the contract.
public enum ColumnType: Sendable, Equatable, Hashable {
    case int
    case float
    case bool
    case string
    case category([String])

    /// The type's name as written in schema text and JSON (`category` without its values).
    public var name: String {
        switch self {
        case .int: "int"
        case .float: "float"
        case .bool: "bool"
        case .string: "string"
        case .category: "category"
        }
    }

    public var isNumeric: Bool {
        switch self {
        case .int, .float: true
        default: false
        }
    }

    /// Types stored as dictionary codes (string and category).
    public var isDictionaryEncoded: Bool {
        switch self {
        case .string, .category: true
        default: false
        }
    }
}
