import Foundation
import MLBuildCore
#if canImport(Glibc)
import Glibc
#endif

/// `cache stats`, `cache verify` and `cache gc`: the operations on a whole cache directory.
public struct CacheMaintenance: Sendable {
    public let layout: CacheLayout

    public init(layout: CacheLayout) { self.layout = layout }

    public struct Entry: Sendable {
        public var path: String
        public var size: UInt64
        public var mtimeNanoseconds: Int64
    }

    /// Every blob and action entry with its size and last use (mtime), oldest first.
    public func entries() throws -> [Entry] {
        var out: [Entry] = []
        for directory in [layout.casDirectory, layout.acDirectory] where FileSystem.exists(directory) {
            for shard in try FileSystem.listDirectory(directory) {
                let shardPath = "\(directory)/\(shard)"
                guard FileStat.of(shardPath)?.isDirectory == true else { continue }
                // A dot name is a file being written (FileSystem.temporaryPath), not an entry:
                // a killed writer's is swept (StaleTemporaryFiles), a live one's is left alone.
                for name in try FileSystem.listDirectory(shardPath) where !name.hasPrefix(".") {
                    let path = "\(shardPath)/\(name)"
                    guard let st = FileStat.of(path, followLinks: false), st.isRegularFile else { continue }
                    out.append(Entry(path: path, size: st.size, mtimeNanoseconds: st.mtimeNanoseconds))
                }
            }
        }
        return out.sorted { ($0.mtimeNanoseconds, $0.path) < ($1.mtimeNanoseconds, $1.path) }
    }

    public struct Statistics: Sendable {
        public var blobs = 0
        public var blobBytes: UInt64 = 0
        public var actions = 0
        public var actionBytes: UInt64 = 0
        public var quarantined = 0
        public var recentBuilds = 0
        public var recentRestored = 0
        public var recentBuilt = 0
        public var recentFresh = 0

        /// Of the targets recent builds had to produce, the share the cache supplied.
        public var hitRatio: Double? {
            let total = recentRestored + recentBuilt
            return total == 0 ? nil : Double(recentRestored) / Double(total)
        }
    }

    public func statistics(recentBuildCount: Int = 20) throws -> Statistics {
        var stats = Statistics()
        for entry in try entries() {
            if entry.path.hasPrefix(layout.casDirectory + "/") {
                stats.blobs += 1
                stats.blobBytes += entry.size
            } else {
                stats.actions += 1
                stats.actionBytes += entry.size
            }
        }
        stats.quarantined = (try? FileSystem.listDirectory(layout.quarantineDirectory).count) ?? 0
        if let log = try? FileSystem.readString(layout.buildsLog) {
            let lines = log.split(separator: "\n").suffix(recentBuildCount)
            for line in lines {
                guard let record = try? JSONDecoder().decode(BuildRecord.self, from: Data(line.utf8)) else { continue }
                stats.recentBuilds += 1
                stats.recentRestored += record.restored
                stats.recentBuilt += record.built
                stats.recentFresh += record.fresh
            }
        }
        return stats
    }

    /// One line of `builds.log`.
    public struct BuildRecord: Codable, Sendable {
        public var built: Int
        public var restored: Int
        public var fresh: Int
        public var failed: Int

        public init(built: Int, restored: Int, fresh: Int, failed: Int) {
            self.built = built
            self.restored = restored
            self.fresh = fresh
            self.failed = failed
        }
    }

    /// Appends a build's counts to `builds.log` (one short O_APPEND write: lines never interleave).
    public func record(_ record: BuildRecord) {
        if layout.isReadOnly { return }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        guard var line = try? encoder.encode(record) else { return }
        line.append(10)
        try? FileSystem.createDirectories(layout.root)
        let fd = open(layout.buildsLog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }

    public struct VerifyReport: Sendable {
        public var checked = 0
        public var corrupt: [String] = []
        public var malformedActions: [String] = []
    }

    /// Re-hashes every blob; corrupt blobs are quarantined and malformed action entries removed
    /// (in a read-only cache they are only reported: nothing there can be changed).
    public func verify() throws -> VerifyReport {
        var report = VerifyReport()
        let repair = !layout.isReadOnly
        if repair { sweepStaleTemporaryFiles() }
        let store = ContentStore(layout: layout)
        for entry in try entries() {
            let name = FileSystem.lastComponent(of: entry.path)
            if entry.path.hasPrefix(layout.casDirectory + "/") {
                report.checked += 1
                guard let expected = ContentDigest(hex: name) else {
                    if repair { unlink(entry.path) }
                    report.corrupt.append(name)
                    continue
                }
                let actual = try? FileHashing.digest(ofFileAt: entry.path).digest
                if actual != expected {
                    if repair { store.quarantine(expected) }
                    report.corrupt.append(name)
                }
            } else {
                let bytes = (try? FileSystem.readBytes(entry.path)) ?? []
                if ContentDigest(hex: name) == nil || ActionResult.decode(bytes) == nil {
                    if repair { unlink(entry.path) }
                    report.malformedActions.append(name)
                }
            }
        }
        return report
    }

    public struct CollectReport: Sendable {
        public var removedEntries = 0
        public var removedBytes: UInt64 = 0
        public var keptEntries = 0
        public var keptBytes: UInt64 = 0
    }

    /// Deletes least recently used entries until the cache holds at most `maxBytes`. Takes the
    /// cache lock exclusively, so it waits for running builds (which hold it shared) and never
    /// removes a blob that a build is about to reference.
    public func collect(maxBytes: UInt64) throws -> CollectReport {
        let lock = try FileLock(path: layout.lockPath)
        try lock.lock(.exclusive)
        defer { lock.unlock() }
        sweepStaleTemporaryFiles()
        let all = try entries()
        var total = all.reduce(UInt64(0)) { $0 + $1.size }
        var report = CollectReport()
        for entry in all {
            if total <= maxBytes {
                report.keptEntries += 1
                report.keptBytes += entry.size
                continue
            }
            if unlink(entry.path) == 0 {
                total -= entry.size
                report.removedEntries += 1
                report.removedBytes += entry.size
            }
        }
        // Holding the cache exclusively, nothing in tmp/ is being written: empty it (what killed
        // processes left, and anything else put there, directories included).
        if let names = try? FileSystem.listDirectory(layout.tempDirectory) {
            for name in names { try? FileSystem.removeTree("\(layout.tempDirectory)/\(name)") }
        }
        return report
    }

    /// Removes what killed processes left in this cache: files in `tmp/` and (with `shards`)
    /// atomic-write temp files in the `cas/` and `ac/` shards, each only when the process named
    /// in it is gone (see StaleTemporaryFiles). Call it holding the cache lock exclusively.
    @discardableResult
    public func sweepStaleTemporaryFiles(shards: Bool = true) -> [String] {
        var removed = StaleTemporaryFiles.sweep(layout.tempDirectory, cacheTemporary: true)
        for directory in [layout.casDirectory, layout.acDirectory] where shards {
            for shard in (try? FileSystem.listDirectory(directory)) ?? [] {
                removed += StaleTemporaryFiles.sweep("\(directory)/\(shard)")
            }
        }
        return removed
    }

    /// Parses `500M`, `10G`, `1.5GB`, `123` (bytes); powers of 1024.
    public static func parseSize(_ text: String) -> UInt64? {
        var s = text.trimmingCharacters(in: .whitespaces).uppercased()
        if s.hasSuffix("IB") { s.removeLast(2) } else if s.hasSuffix("B") { s.removeLast() }
        var multiplier: Double = 1
        if let last = s.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][String(last)] {
            multiplier = pow(1024, Double(power))
            s.removeLast()
        }
        guard let value = Double(s), value >= 0, value.isFinite else { return nil }
        return UInt64(value * multiplier)
    }

    public static func formatSize(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : "\(String(format: "%.1f", value)) \(units[unit])"
    }
}
