/// A model that cannot be written as ONNX; the message names what is at fault.
public struct ONNXExportError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
