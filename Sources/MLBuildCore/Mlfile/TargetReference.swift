/// `KIND:NAME`, the one way targets name each other on the command line and in an Mlfile.
///
/// Targets are dictionary keys all over the scheduler; hashing two strings per lookup showed up
/// in the no-op profile, so the hash is computed once, at creation (per process: `Hasher` is
/// seeded per process, and nothing persists it).
public struct TargetReference: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let kind: String
    public let name: String
    private let cachedHash: Int

    public init(kind: String, name: String) {
        self.kind = kind
        self.name = name
        var hasher = Hasher()
        hasher.combine(kind)
        hasher.combine(name)
        cachedHash = hasher.finalize()
    }

    /// Parses `kind:name`; nil when either side is empty or not made of name characters.
    public init?(parsing text: some StringProtocol) {
        self.init(parsing: Substring(String(text)))
    }

    public init?(parsing text: String) {
        self.init(parsing: Substring(text))
    }

    /// On UTF-8 bytes, not generic: through `some StringProtocol` (unspecialized across
    /// modules) and Character search, one parse cost about 13,000 instructions, a sixth of
    /// reading the workspace state of 10,000 targets.
    public init?(parsing text: Substring) {
        let bytes = text.utf8
        guard let colon = bytes.firstIndex(of: 58) else { return nil }
        let kind = bytes[..<colon], name = bytes[bytes.index(after: colon)...]
        guard !kind.isEmpty, !name.isEmpty,
              kind.allSatisfy(MlfileParser.isIdentifierByte),
              name.allSatisfy(MlfileParser.isNameByte) else { return nil }
        // ':' is ASCII, so its index is a character boundary of `text`.
        self.init(kind: String(text[..<colon]), name: String(text[bytes.index(after: colon)...]))
    }

    /// Parses `kind:name` from UTF-8 bytes (a token of an Mlfile line), as `init(parsing:)` does.
    init?(parsing bytes: UnsafeBufferPointer<UInt8>) {
        guard let colon = bytes.firstIndex(of: 58) else { return nil }
        let kind = UnsafeBufferPointer(rebasing: bytes[..<colon]), name = UnsafeBufferPointer(rebasing: bytes[(colon + 1)...])
        guard !kind.isEmpty, !name.isEmpty,
              kind.allSatisfy(MlfileParser.isIdentifierByte),
              name.allSatisfy(MlfileParser.isNameByte) else { return nil }
        self.init(kind: String(decoding: kind, as: UTF8.self), name: String(decoding: name, as: UTF8.self))
    }

    public var description: String { "\(kind):\(name)" }

    public func hash(into hasher: inout Hasher) { hasher.combine(cachedHash) }

    public static func == (a: TargetReference, b: TargetReference) -> Bool {
        a.cachedHash == b.cachedHash && a.name == b.name && a.kind == b.kind
    }

    public static func < (a: TargetReference, b: TargetReference) -> Bool {
        (a.kind, a.name) < (b.kind, b.name)
    }

    private enum CodingKeys: String, CodingKey { case kind, name }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(kind: try container.decode(String.self, forKey: .kind), name: try container.decode(String.self, forKey: .name))
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(name, forKey: .name)
    }
}
