import MLBuildCore

/// Maps a kind word to its rule type.
public struct RuleRegistry: Sendable {
    public private(set) var rules: [String: any Rule.Type] = [:]

    public init(_ rules: [any Rule.Type] = []) {
        for rule in rules { register(rule) }
    }

    public mutating func register(_ rule: any Rule.Type) { rules[rule.kind] = rule }

    public var kinds: [String] { rules.keys.sorted() }

    public func rule(for kind: String) -> (any Rule.Type)? { rules[kind] }
}
