import MLBuildCore
import MLBuildDatasets
import MLBuildEngine

/// Turns a Character offset into an Mlfile value's text (what `SchemaParseError` and
/// `DatasetError.option` report) back into an Mlfile line and column, so that errors about one
/// item of a long multi-line value point at that item. The value knows where each of its
/// characters was written (`ResolvedValue.location(atCharacterOffset:)`): a place on a
/// continuation line points there, and text a `${…}` put in points at the `$`.
enum DatasetValueLocator {
    static func location(in value: ResolvedValue, offset: Int) -> SourceLocation {
        value.location(atCharacterOffset: offset)
    }

    /// A diagnostic at `offset` into `value` (at the value itself when the offset is unknown).
    static func diagnostic(_ message: String, in value: ResolvedValue, offset: Int?) -> Diagnostic {
        guard let offset else { return value.diagnostic(message) }
        return value.source.diagnostic(message, at: location(in: value, offset: offset))
    }
}

extension DatasetValueLocator {
    /// The diagnostic for an error the data library threw while reading a target's options:
    /// `DatasetError.option` points at the offending item of that key's value. Nil when the key
    /// has no usable value: its problem (unset, failed to resolve) is reported already.
    static func diagnostic(for error: Error, in configuration: TargetConfiguration) -> Diagnostic? {
        guard case let DatasetError.option(key, offset, message) = error else {
            return configuration.target.diagnostic("\(error)")
        }
        guard let value = configuration.value(key) else { return nil }
        return diagnostic("'\(key)': \(message)", in: value, offset: offset)
    }
}
