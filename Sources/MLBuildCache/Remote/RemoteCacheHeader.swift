import Foundation

/// One extra HTTP header sent with every remote cache request, typically
/// `Authorization: Bearer …` from `MLBUILD_REMOTE_HEADER` or a file.
///
/// The value is a secret: `description`, `debugDescription` and the reflection mirror
/// (`dump`, `print` of enclosing values) show only the name, so it never reaches a log.
public struct RemoteCacheHeader: Sendable, Equatable, CustomStringConvertible,
    CustomDebugStringConvertible, CustomReflectable
{
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public var description: String { "\(name): <redacted>" }
    public var debugDescription: String { "RemoteCacheHeader(\(name): <redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: ["name": name], displayStyle: .struct) }
}
