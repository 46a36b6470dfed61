/// JSON form of a column spec (in schema.json and transform.json):
/// `{"name", "type", "categories"?, "nullable", "id", "unique", "min"?, "max"?, "pii"?}` (`pii`
/// only when true, so that a schema without it keeps its bytes).
extension ColumnSpec: Codable {
    enum CodingKeys: String, CodingKey {
        case name, type, categories, nullable, id, unique, min, max, pii
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.decode(String.self, forKey: .name)
        let typeName = try c.decode(String.self, forKey: .type)
        let type: ColumnType
        switch typeName {
        case "int": type = .int
        case "float": type = .float
        case "bool": type = .bool
        case "string": type = .string
        case "category": type = .category(try c.decode([String].self, forKey: .categories))
        default:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c, debugDescription: "unknown column type '\(typeName)'")
        }
        self.init(
            name: name, type: type,
            nullable: try c.decodeIfPresent(Bool.self, forKey: .nullable) ?? false,
            isID: try c.decodeIfPresent(Bool.self, forKey: .id) ?? false,
            unique: try c.decodeIfPresent(Bool.self, forKey: .unique) ?? false,
            min: try c.decodeIfPresent(Double.self, forKey: .min),
            max: try c.decodeIfPresent(Double.self, forKey: .max),
            isPII: try c.decodeIfPresent(Bool.self, forKey: .pii) ?? false)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(type.name, forKey: .type)
        if case .category(let values) = type { try c.encode(values, forKey: .categories) }
        try c.encode(nullable, forKey: .nullable)
        try c.encode(isID, forKey: .id)
        try c.encode(unique, forKey: .unique)
        try c.encodeIfPresent(min, forKey: .min)
        try c.encodeIfPresent(max, forKey: .max)
        if isPII { try c.encode(true, forKey: .pii) }
    }
}

extension Schema: Codable {
    public init(from decoder: any Decoder) throws {
        self.init(columns: try [ColumnSpec](from: decoder))
    }

    public func encode(to encoder: any Encoder) throws {
        try columns.encode(to: encoder)
    }
}
