import Crypto
import Foundation
import MLBuildBasics

/// `pseudonymize = COLUMN, …`: a string column's values replaced by HMAC-SHA-256 tokens under a
/// secret key (64 lowercase hex digits). The same value gives the same token under the same key,
/// so joins, `unique` and id columns still work; without the key a token cannot be turned back
/// into its value or recomputed from a guess. The key is never written anywhere.
public struct Pseudonymizer: Sendable {
    public let columns: [String]
    /// HMAC state after the key: each token copies it instead of keying a new one (two SHA-256
    /// blocks fewer per value).
    private let keyed: HMAC<SHA256>

    public init(columns: [String], key: [UInt8]) {
        self.columns = columns
        keyed = HMAC<SHA256>(key: SymmetricKey(data: key))
    }

    /// The token of one value.
    public func token(_ value: String) -> String {
        var mac = keyed
        mac.update(data: Array(value.utf8))
        // A SHA-256-sized code: ContentDigest's hex spelling (64 lowercase digits).
        return mac.finalize().withUnsafeBytes { ContentDigest(buffer: $0) }.hex
    }

    /// The tokens of `values`, in order, computed on the work budget's free threads.
    func tokens(_ values: [String]) -> [String] {
        var out = [String](repeating: "", count: values.count)
        let chunk = 4096
        out.withUnsafeMutableBufferPointer { slots in
            WorkBudget.current.parallelFor((values.count + chunk - 1) / chunk) { c in
                for i in c * chunk ..< min(values.count, (c + 1) * chunk) { slots[i] = token(values[i]) }
            }
        }
        return out
    }

    /// Each listed column that is not a `string` column of `schema` (or not in it): pseudonymized
    /// values are text, and a category's values are declared in the schema itself.
    public static func problems(columns: [String], schema: Schema) -> [(column: String, message: String)] {
        columns.compactMap { name in
            guard let spec = schema[name] else { return (name, "column '\(name)' is not in the schema") }
            guard case .string = spec.type else {
                return (name, "column '\(name)' is \(spec.type.name); pseudonymize applies to string columns")
            }
            return nil
        }
    }

    /// Replaces the listed columns' values in `table` (their dictionaries: the codes stay). Two
    /// values with one token would be a SHA-256 collision.
    public func apply(to table: inout ColumnarTable) throws {
        if let problem = Self.problems(columns: columns, schema: table.schema).first {
            throw DatasetError.features(message: "pseudonymize: \(problem.message)")
        }
        for (index, column) in table.columns.enumerated() where columns.contains(column.spec.name) {
            guard case .codes(let codes, let dictionary) = column.storage else { continue }
            table.columns[index].storage = .codes(codes, dictionary: tokens(dictionary))
        }
    }
}
