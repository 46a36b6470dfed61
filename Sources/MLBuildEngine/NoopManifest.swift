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
/// git revision), when a recorded directory changed within the racy window, or after a failure.
///
/// The racy window (as git's "racily clean" index entries): a file modified within the
/// timestamp granularity of the moment its stat was taken could change again without its
/// stat changing. Such an entry is kept with the digest the build used and marked racy; the
/// next check re-hashes that file (and only it) and compares digests, so an edit-build loop,
/// whose last build always writes files just before it ends, keeps the fast path.
///
/// On disk: magic `MLNOOP`, version, context digest, environment names, targets (kind, name, key),
/// entries (path, size, mtime ns, ctime ns, inode, device, mode, racy flag, and for a racy
/// entry its digest); see BinaryWriter.
public struct NoopManifest: Sendable {
    /// One recorded stat; `racyDigest` is set when the file was modified within the racy window
    /// of the build that recorded it (the content digest the build used: re-hashed next time).
    public struct Entry: Sendable, Equatable {
        public var path: String
        public var stat: FileStat
        public var racyDigest: ContentDigest?

        public init(path: String, stat: FileStat, racyDigest: ContentDigest? = nil) {
            self.path = path
            self.stat = stat
            self.racyDigest = racyDigest
        }
    }

    /// What the build witnessed about a path: its stat and, for a regular file it hashed or
    /// wrote, the content digest it used.
    public struct Witnessed: Sendable {
        public var stat: FileStat
        public var digest: ContentDigest?

        public init(stat: FileStat, digest: ContentDigest?) {
            self.stat = stat
            self.digest = digest
        }
    }

    public var context: ContentDigest
    public var environmentNames: [String]
    public var targets: [(TargetReference, ContentDigest)]
    public var entries: [Entry]

    public init(context: ContentDigest, environmentNames: [String], targets: [(TargetReference, ContentDigest)], entries: [Entry]) {
        self.context = context
        self.environmentNames = environmentNames
        self.targets = targets
        self.entries = entries
    }

    static let magic = "MLNOOP"
    /// 3: entries carry the racy flag (a version-2 manifest is not read: the next build takes
    /// the full path once and writes a new one).
    static let version: UInt32 = 3

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
            let targetCount = try r.readCount(minimumItemSize: 48)
            targets.reserveCapacity(targetCount)
            for _ in 0..<targetCount {
                // Kind and name apart: written by us, so not re-validated (1,000 parses showed
                // up in the no-op profile).
                let reference = TargetReference(kind: try r.readString(), name: try r.readString())
                targets.append((reference, try r.readDigest()))
            }
            var entries: [Entry] = []
            let entryCount = try r.readCount(minimumItemSize: 57)
            entries.reserveCapacity(entryCount)
            for _ in 0..<entryCount {
                let path = try r.readString()
                let stat = FileStat(size: try r.readUInt64(), mtimeNanoseconds: try r.readInt64(),
                                    ctimeNanoseconds: try r.readInt64(), inode: try r.readUInt64(),
                                    device: try r.readUInt64(), mode: UInt32(truncatingIfNeeded: try r.readUInt64()))
                entries.append(Entry(path: path, stat: stat, racyDigest: try r.readBool() ? try r.readDigest() : nil))
            }
            return NoopManifest(context: context, environmentNames: names, targets: targets, entries: entries)
        } catch {
            return nil
        }
    }

    /// Whether nothing recorded has changed.
    public func matches(context current: ContentDigest) -> Bool { check(context: current).mismatch == nil }

    /// The first thing that changed since the manifest was written, in words (for
    /// `MLBUILD_TRACE=1`); nil when nothing did. The context is one digest, so a change there
    /// names the kinds of things it covers, not which one.
    public func mismatch(context current: ContentDigest, disk: any DiskInterface = RealDisk()) -> String? {
        check(context: current, disk: disk).mismatch
    }

    /// What `check` found: the first change (nil when none), and the racy entries it re-hashed.
    public struct Check: Sendable {
        public var mismatch: String?
        public var rehashed: [String] = []
    }

    /// Compares every entry's stat with the file system's, and re-hashes the racy ones (whose
    /// stat alone cannot prove them unchanged).
    public func check(context current: ContentDigest, disk: any DiskInterface = RealDisk()) -> Check {
        guard current == context else { return Check(mismatch: "the Mlfile, the command line or the environment changed") }
        var check = Check()
        for entry in entries {
            guard let now = disk.stat(entry.path, followLinks: true) else { return Check(mismatch: "'\(entry.path)' is gone", rehashed: check.rehashed) }
            if now != entry.stat { return Check(mismatch: "'\(entry.path)' changed", rehashed: check.rehashed) }
            guard let recorded = entry.racyDigest else { continue }
            check.rehashed.append(entry.path)
            guard let (digest, _) = try? disk.digest(ofFileAt: entry.path), digest == recorded else {
                return Check(mismatch: "'\(entry.path)' changed (re-hashed: it was written within the racy window)",
                             rehashed: check.rehashed)
            }
        }
        return check
    }

    /// The same manifest with the racy marks taken off the entries no longer within the racy
    /// window of now (call after `check` found them unchanged: from now on a change moves
    /// their mtime); nil when no mark can be taken off.
    public func settled(now: Int64 = NoopManifest.now()) -> NoopManifest? {
        var changed = false
        var copy = self
        for index in copy.entries.indices where copy.entries[index].racyDigest != nil && !Self.isRacy(copy.entries[index].stat, now: now) {
            copy.entries[index].racyDigest = nil
            changed = true
        }
        return changed ? copy : nil
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
        for entry in entries {
            let stat = entry.stat
            w.write(entry.path)
            w.write(stat.size)
            w.write(stat.mtimeNanoseconds)
            w.write(stat.ctimeNanoseconds)
            w.write(stat.inode)
            w.write(stat.device)
            w.write(UInt64(stat.mode))
            w.write(entry.racyDigest != nil)
            if let digest = entry.racyDigest { w.write(digest) }
        }
        try disk.writeAtomically(w.bytes, to: path)
    }

    public static func remove(at path: String) { unlink(path) }

    /// The racy window: timestamps this close to now could hide an edit made right after.
    public static let racyWindowNanoseconds: Int64 = 100_000_000

    /// Nanoseconds since the epoch (the clock file timestamps are taken from).
    public static func now() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    static func isRacy(_ stat: FileStat, now: Int64) -> Bool {
        stat.mtimeNanoseconds >= now - racyWindowNanoseconds || stat.ctimeNanoseconds >= now - racyWindowNanoseconds
    }

    /// The recorded stats (taken when each file was hashed, written or listed) as entries,
    /// sorted by path; a file modified within the racy window of now is marked racy with the
    /// digest the build used. Nil when a racy path has no digest (a listed directory): then no
    /// manifest is written.
    public static func entries(for witnessed: [String: Witnessed], now: Int64? = nil,
                               disk: any DiskInterface = RealDisk()) -> [Entry]? {
        let now = now ?? disk.currentTimeNanoseconds()
        var out: [Entry] = []
        out.reserveCapacity(witnessed.count)
        for path in witnessed.keys.sorted() {
            guard let seen = witnessed[path] else { continue }
            if isRacy(seen.stat, now: now) {
                guard let digest = seen.digest else { return nil }
                out.append(Entry(path: path, stat: seen.stat, racyDigest: digest))
            } else {
                out.append(Entry(path: path, stat: seen.stat))
            }
        }
        return out
    }
}
