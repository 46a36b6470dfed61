/// An error about an OCI image: its layout, a descriptor, a blob or the spec given to the builder.
/// The message names the blob digest, archive entry or field at fault.
public struct OCIError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
