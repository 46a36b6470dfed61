/// A file that is not an ELF object mlbuild can read, or a dependency that cannot be found.
/// The message names the file at fault.
public struct ELFError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
