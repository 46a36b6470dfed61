import Foundation

/// The one JSON encoding for every blob we write: sorted keys, no pretty printing, slashes
/// unescaped. Same value -> same bytes -> same digest.
enum OCIJSON {
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw OCIError("\(what) is not valid JSON for \(type): \(error)")
        }
    }
}
