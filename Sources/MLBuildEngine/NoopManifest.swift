import MLBuildCore
#if canImport(Glibc)
import Glibc
#endif

/// The no-op fast path (`.mlbuild/noop`): after a build in which every target ended up fresh,
/// built or restored, mlbuild records the stat of every file and directory that decided any
/// key or freshness, plus a digest of everything else that could (the Mlfile's bytes, the
/// command line, the values of the environment variables the Mlfile reads). The next run with
/// the same context whose recorded stats all still match knows, without parsing the Mlfile or
/// hashing anything, that every target is fresh — the check Ninja makes, at Ninja's cost.
///
/// Conservative by construction: any difference (a stat field, a file added to a globbed
/// directory, an environment value, another argument) falls back to the full build, which is
/// always correct. Not written when a rule reads workspace facts beyond files (containers'
/// git revision), when a recorded file changed within the racy window, or after a failure.
///
/// On disk: magic `MLNOOP`, version, context digest, environment names, targets (kind, name, key),
/// entries (path, size, mtime ns, ctime ns, inode, device, mode); see BinaryWriter.
public struct NoopManifest: Sendable {
    public var context: ContentDigest
    public var environmentNames: [String]
    public var targets: [(TargetReference, ContentDigest)]
    public var entries: [(String, FileStat)]

    public init(context: ContentDigest, environmentNames: [String], targets: [(TargetReference, ContentDigest)], entries: [(String, FileStat)]) {
        self.context = context
        self.environmentNames = environmentNames
        self.targets = targets
        self.entries = entries
    }

    static let magic = "MLNOOP"
    static let version: UInt32 = 2

    /// The digest of what, besides files, decides a build: mlbuild's version, the Mlfile's
    /// path and bytes, the arguments that shape the build, and the named environment values.
    public static func context(version: String, mlfilePath: String, mlfile: [UInt8], arguments: [String],
                               environmentNames: [String], environment: [String: String]) -> ContentDigest {
        var h = StableHasher(domain: "mlbuild-noop-v1")
        h.append(version)
        h.append(mlfilePath)
        h.append(ContentDigest.of(mlfile))
        h.appendCount(arguments.count)
        for argument in arguments { h.append(argument) }
        h.appendCount(environmentNames.count)
        for name in environmentNames {
            h.append(name)
            if let value = environment[name] { h.append(true); h.append(value) } else { h.append(false) }
        }
        return h.finalize()
    }

    /// Names the Mlfile text reads with `${env:NAME…}`.
    public static func environmentReferences(in text: [UInt8]) -> [String] {
        var names: Set<String> = []
        let marker = Array("${env:".utf8)
        var i = 0
        while i + marker.count <= text.count {
            if text[i] == 36, Array(text[i..<(i + marker.count)]) == marker {
                var j = i + marker.count
                while j < text.count, isEnvironmentNameByte(text[j]) { j += 1 }
                names.insert(String(decoding: text[(i + marker.count)..<j], as: UTF8.self))
                i = j
            } else {
                i += 1
            }
        }
        return names.sorted()
    }

    public static func load(from path: String, disk: any DiskInterface = RealDisk()) -> NoopManifest? {
        guard let bytes = try? disk.readBytes(path), var r = try? BinaryReader(bytes: bytes, magic: magic, version: version) else { return nil }
        do {
            let context = try r.readDigest()
            var names: [String] = []
            for _ in 0..<(try r.readCount(minimumItemSize: 8)) { names.append(try r.readString()) }
            var targets: [(TargetReference, ContentDigest)] = []
            for _ in 0..<(try r.readCount(minimumItemSize: 48)) {
                // Kind and name apart: written by us, so not re-validated (1,000 parses showed
                // up in the no-op profile).
                let reference = TargetReference(kind: try r.readString(), name: try r.readString())
                targets.append((reference, try r.readDigest()))
            }
            var entries: [(String, FileStat)] = []
            for _ in 0..<(try r.readCount(minimumItemSize: 56)) {
                let path = try r.readString()
                entries.append((path, FileStat(size: try r.readUInt64(), mtimeNanoseconds: try r.readInt64(),
                                               ctimeNanoseconds: try r.readInt64(), inode: try r.readUInt64(),
                                               device: try r.readUInt64(), mode: UInt32(truncatingIfNeeded: try r.readUInt64()))))
            }
            return NoopManifest(context: context, environmentNames: names, targets: targets, entries: entries)
        } catch {
            return nil
        }
    }

    /// Whether nothing recorded has changed.
    public func matches(context current: ContentDigest) -> Bool { mismatch(context: current) == nil }

    /// The first thing that changed since the manifest was written, in words (for
    /// `MLBUILD_TRACE=1`); nil when nothing did. The context is one digest, so a change there
    /// names the kinds of things it covers, not which one.
    public func mismatch(context current: ContentDigest, disk: any DiskInterface = RealDisk()) -> String? {
        guard current == context else { return "the Mlfile, the command line or the environment changed" }
        for (path, stat) in entries {
            guard let now = disk.stat(path, followLinks: true) else { return "'\(path)' is gone" }
            if now != stat { return "'\(path)' changed" }
        }
        return nil
    }

    public func save(to path: String, disk: any DiskInterface = RealDisk()) throws {
        var w = BinaryWriter(magic: Self.magic, version: Self.version)
        w.write(context)
        w.write(UInt64(environmentNames.count))
        for name in environmentNames { w.write(name) }
        w.write(UInt64(targets.count))
        for (reference, key) in targets {
            w.write(reference.kind)
            w.write(reference.name)
            w.write(key)
        }
        w.write(UInt64(entries.count))
        for (entryPath, stat) in entries {
            w.write(entryPath)
            w.write(stat.size)
            w.write(stat.mtimeNanoseconds)
            w.write(stat.ctimeNanoseconds)
            w.write(stat.inode)
            w.write(stat.device)
            w.write(UInt64(stat.mode))
        }
        try disk.writeAtomically(w.bytes, to: path)
    }

    public static func remove(at path: String) { unlink(path) }

    /// The recorded stats (taken when each file was hashed or listed) as entries; nil when any
    /// was modified within the racy window of now (its timestamps could hide an edit made right
    /// after), so that no manifest is written.
    public static func entries(for stats: [String: FileStat], disk: any DiskInterface = RealDisk()) -> [(String, FileStat)]? {
        let limit = disk.currentTimeNanoseconds() - 100_000_000
        var out: [(String, FileStat)] = []
        for path in stats.keys.sorted() {
            guard let stat = stats[path], stat.mtimeNanoseconds < limit, stat.ctimeNanoseconds < limit else { return nil }
            out.append((path, stat))
        }
        return out
    }
}

