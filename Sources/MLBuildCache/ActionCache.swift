import MLBuildCore

/// Action key → `ActionResult`, stored as small JSON files under `ac/`.
public struct ActionCache: Sendable {
    public let layout: CacheLayout

    public init(layout: CacheLayout) { self.layout = layout }

    public func lookup(_ key: ContentDigest) -> ActionResult? {
        let path = layout.actionPath(key.hex)
        guard let bytes = try? FileSystem.readBytes(path) else { return nil }
        guard let result = ActionResult.decode(bytes) else { return nil }
        if !layout.isReadOnly { FileSystem.touch(path) }
        return result
    }

    public func store(_ result: ActionResult, for key: ContentDigest) throws {
        try FileSystem.writeAtomically(result.encoded(), to: layout.actionPath(key.hex))
    }
}
