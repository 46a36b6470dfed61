/// A provenance, key or signature problem, worded for the user.
public struct ProvenanceError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
