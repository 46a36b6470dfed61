import Foundation

/// `schema.json`: the dataset's schema and the options that decide how raw cells read, so a
/// later rule (features, prediction) parses raw rows exactly as the dataset rule did.
///
///     {"columns": [ColumnSpec...], "options": DatasetOptions, "version": 1}
public struct SchemaFile: Codable, Sendable, Equatable {
    public var version: Int
    public var columns: Schema
    public var options: DatasetOptions

    public init(schema: Schema, options: DatasetOptions) {
        self.version = 1
        self.columns = schema
        self.options = options
    }

    public var schema: Schema { columns }

    public static func read(from url: URL) throws -> SchemaFile {
        let data = try Data(contentsOf: url)
        do {
            return try JSONDecoder().decode(SchemaFile.self, from: data)
        } catch {
            throw DatasetError.format(path: url.path, message: "not a valid schema.json: \(error)")
        }
    }

    public func write(to url: URL) throws {
        try CanonicalJSON.write(self, to: url)
    }
}
