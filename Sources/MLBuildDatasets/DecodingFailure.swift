import Foundation

/// A JSON decoding failure as one line that names the field at fault, for messages about files a
/// user may have edited: `transform.steps[2]: missing field 'kind'` instead of a `DecodingError`
/// dump. Field paths use the file's own keys, with `[i]` for array elements.
public enum DecodingFailure {
    /// `error` (from decoding `data`) described; `prefix` is the path of the decoded value inside
    /// the file (e.g. `transform.` when only that part was decoded).
    public static func describe(_ error: any Error, data: Data, prefix: String = "") -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .keyNotFound(let key, let context):
            return at(context.codingPath, prefix) + "missing field '\(key.stringValue)'"
        case .valueNotFound(let type, let context):
            return at(context.codingPath, prefix) + "null where \(name(type)) is expected"
        case .typeMismatch(let type, let context):
            return at(context.codingPath, prefix) + "expected \(name(type))"
        case .dataCorrupted(let context):
            if !context.codingPath.isEmpty { return at(context.codingPath, prefix) + context.debugDescription }
            // Foundation says "not valid JSON" both for bad syntax and for a number that does not
            // fit its field; JSONSerialization tells them apart and knows the line.
            do {
                _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
                return "a number is out of range for its field (too large, or a fraction where a whole number is expected)"
            } catch {
                let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
                return "not valid JSON" + (detail.map { ": \($0)" } ?? "")
            }
        @unknown default:
            return "\(error)"
        }
    }

    /// `a.b[2].c: ` (empty for the root).
    static func at(_ path: [any CodingKey], _ prefix: String) -> String {
        let out = fieldPath(path)
        let full = prefix.isEmpty ? out : (out.isEmpty ? String(prefix.dropLast(prefix.hasSuffix(".") ? 1 : 0)) : prefix + out)
        return full.isEmpty ? "" : full + ": "
    }

    /// A coding path as the file spells it: `a.b[2].c`.
    public static func fieldPath(_ path: [any CodingKey]) -> String {
        var out = ""
        for key in path {
            if let i = key.intValue {
                out += "[\(i)]"
            } else {
                out += (out.isEmpty ? "" : ".") + key.stringValue
            }
        }
        return out
    }

    static func name(_ type: Any.Type) -> String {
        switch type {
        case is Double.Type, is Float.Type: "a number"
        case is Int.Type, is Int64.Type, is UInt32.Type: "a whole number"
        case is String.Type: "text"
        case is Bool.Type: "true or false"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : (String(describing: type).hasPrefix("Dictionary") ? "an object" : "\(type)")
        }
    }
}
