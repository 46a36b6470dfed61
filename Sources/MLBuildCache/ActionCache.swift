import MLBuildCore

/// Action key → `ActionResult`, stored as small JSON files under `ac/`.
public struct ActionCache: Sendable {
    public let layout: CacheLayout
    /// Where the entries are read and written.
    public let disk: any DiskInterface

    public init(layout: CacheLayout, disk: any DiskInterface = RealDisk()) {
        self.layout = layout
        self.disk = disk
    }

    public func lookup(_ key: ContentDigest) -> ActionResult? {
        let path = layout.actionPath(key.hex)
        guard let bytes = try? disk.readBytes(path) else { return nil }
        guard let result = ActionResult.decode(bytes) else { return nil }
        if !layout.isReadOnly { disk.touch(path) }
        return result
    }

    public func store(_ result: ActionResult, for key: ContentDigest) throws {
        try disk.writeAtomically(result.encoded(), to: layout.actionPath(key.hex))
    }
}
