/// A schema text error: which column item is wrong, what is wrong, and where.
///
/// `offset` counts Characters from the start of the schema text, so a caller that knows where the
/// text sits in its Mlfile can point a caret at the exact spot.
public struct SchemaParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based position of the column item in the comma-separated list.
    public var itemIndex: Int
    /// The item's text, trimmed (empty for errors not tied to one item).
    public var item: String
    public var offset: Int
    public var message: String

    public init(itemIndex: Int, item: String, offset: Int, message: String) {
        self.itemIndex = itemIndex
        self.item = item
        self.offset = offset
        self.message = message
    }

    public var description: String {
        "schema column \(itemIndex) '\(item)' (offset \(offset)): \(message)"
    }

    /// The description without the offset, for a caller that shows the line and column instead.
    public var locatedDescription: String {
        "schema column \(itemIndex) '\(item)': \(message)"
    }
}
