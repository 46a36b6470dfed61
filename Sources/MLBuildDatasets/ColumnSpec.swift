/// One declared column of a `Schema`: name, type and the rules its values must satisfy.
public struct ColumnSpec: Sendable, Equatable, Hashable {
    public var name: String
    public var type: ColumnType
    /// Null cells allowed (otherwise each null is a `not_null` violation).
    public var nullable: Bool
    /// An identifier: carried into predictions, never a feature.
    public var isID: Bool
    /// Personal data (`pii`): its values never leave the dataset's own data.bin (stats, drift,
    /// messages and reports show counts and `<pii>`), and it is no feature unless the features
    /// target says `allow_pii = COLUMN`. docs/responsible.md.
    public var isPII: Bool

    /// What messages and reports show instead of a pii column's value.
    public static let piiPlaceholder = "<pii>"
    /// No two non-null values may be equal.
    public var unique: Bool
    /// Inclusive bounds, only for `int` and `float`.
    public var min: Double?
    public var max: Double?

    public init(
        name: String, type: ColumnType, nullable: Bool = false, isID: Bool = false,
        unique: Bool = false, min: Double? = nil, max: Double? = nil, isPII: Bool = false
    ) {
        self.name = name
        self.type = type
        self.nullable = nullable
        self.isID = isID
        self.isPII = isPII
        self.unique = unique
        self.min = min
        self.max = max
    }

    /// The spec as schema text, e.g. `tenure: int min=0 max=72`; parses back to an equal spec.
    public var text: String {
        var out = SchemaText.quoteIfNeeded(name) + ": "
        switch type {
        case .category(let values):
            out += "category(" + values.map(SchemaText.quoteIfNeeded).joined(separator: ", ") + ")"
        default:
            out += type.name
        }
        if isID { out += " id" }
        if isPII { out += " pii" }
        if unique { out += " unique" }
        if nullable { out += " nullable" }
        if let min { out += " min=" + CanonicalJSON.format(min) }
        if let max { out += " max=" + CanonicalJSON.format(max) }
        return out
    }
}
