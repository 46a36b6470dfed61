/// `KIND:NAME`, the one way targets name each other on the command line and in an Mlfile.
public struct TargetReference: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public var kind: String
    public var name: String

    public init(kind: String, name: String) {
        self.kind = kind
        self.name = name
    }

    /// Parses `kind:name`; nil when either side is empty or not made of name characters.
    public init?(parsing text: some StringProtocol) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let kind = text[..<colon], name = text[text.index(after: colon)...]
        guard !kind.isEmpty, !name.isEmpty,
              kind.utf8.allSatisfy(MlfileParser.isIdentifierByte),
              name.utf8.allSatisfy(MlfileParser.isNameByte) else { return nil }
        self.kind = String(kind)
        self.name = String(name)
    }

    public var description: String { "\(kind):\(name)" }

    public static func < (a: TargetReference, b: TargetReference) -> Bool {
        (a.kind, a.name) < (b.kind, b.name)
    }
}
