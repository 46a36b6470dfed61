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
/// It also knows which targets each entry belongs to (`Entry.owners`) and each target's
/// dependencies (`dependencies`), so that when only some files changed the incremental path
/// can tell which targets they make stale without loading the whole Mlfile (see
/// `changedEntries` and `staleTargets`).
///
/// On disk: magic `MLNOOP`, version, context digest, environment names, targets (kind, name,
/// key, dependency indices), entries (path, size, mtime ns, ctime ns, inode, device, mode, racy
/// flag, for a racy entry its digest, owner indices), the directories to sweep beside outputs and
/// inside directory outputs; see BinaryWriter.
public struct NoopManifest: Sendable {
    /// One recorded stat; `racyDigest` is set when the file was modified within the racy window
    /// of the build that recorded it (the content digest the build used: re-hashed next time).
    public struct Entry: Sendable, Equatable {
        public var path: String
        public var stat: FileStat
        public var racyDigest: ContentDigest?
        /// The targets (indices into `targets`) that read or wrote this path; empty when none is
        /// known (a listed directory, a file found by a glob): a change to it cannot be
        /// attributed, and takes the full path.
        public var owners: [UInt32]

        public init(path: String, stat: FileStat, racyDigest: ContentDigest? = nil, owners: [UInt32] = []) {
            self.path = path
            self.stat = stat
            self.racyDigest = racyDigest
            self.owners = owners
        }
    }

    /// What the build witnessed about a path: its stat and, for a regular file it hashed or
    /// wrote, the content digest it used.
    public struct Witnessed: Sendable {
        public var stat: FileStat
        public var digest: ContentDigest?
        /// The targets that looked at it.
        public var owners: [TargetReference]

        public init(stat: FileStat, digest: ContentDigest?, owners: [TargetReference] = []) {
            self.stat = stat
            self.digest = digest
            self.owners = owners
        }
    }

    public var context: ContentDigest
    public var environmentNames: [String]
    public var targets: [(TargetReference, ContentDigest)]
    public var entries: [Entry]
    /// Each target's dependencies in the build graph (indices into `targets`, parallel to it);
    /// empty lists when not known.
    public var dependencies: [[UInt32]]
    /// Where the full build swept for killed processes' temp files
    /// (`Workspace.temporaryFilePlaces`), for the incremental path to sweep the same.
    public var sweepBeside: [String] = []
    public var sweepInside: [String] = []
    /// Where each target's header is in the Mlfile (1-based, parallel to `targets`; 0: not
    /// declared there) and where the top-level assignments start: the incremental path parses
    /// only the statements it needs.
    public var headerLines: [UInt32] = []
    public var assignmentLines: [UInt32] = []

    /// The line ranges of the statements declaring the targets at `indices` and of every
    /// top-level assignment, ascending, in a file of `lineCount` lines (each statement runs to
    /// the next one); nil when a target's header line is not known.
    public func statementLines(of indices: [Int], lineCount: Int) -> [Range<Int>]? {
        guard headerLines.count == targets.count else { return nil }
        let starts = (headerLines.filter { $0 > 0 } + assignmentLines).map(Int.init).sorted()
        func span(_ start: Int) -> Range<Int> {
            var low = 0, high = starts.count  // first start after `start`
            while low < high {
                let mid = (low + high) / 2
                if starts[mid] <= start { low = mid + 1 } else { high = mid }
            }
            return start ..< (low < starts.count ? starts[low] : lineCount + 1)
        }
        var wanted: [Int] = assignmentLines.map(Int.init)
        for index in indices {
            guard headerLines[index] > 0 else { return nil }
            wanted.append(Int(headerLines[index]))
        }
        return wanted.sorted().map(span)
    }

    public init(context: ContentDigest, environmentNames: [String], targets: [(TargetReference, ContentDigest)], entries: [Entry],
                dependencies: [[UInt32]]? = nil) {
        self.context = context
        self.environmentNames = environmentNames
        self.targets = targets
        self.entries = entries
        self.dependencies = dependencies ?? Array(repeating: [], count: targets.count)
    }

    static let magic = "MLNOOP"
    /// 3: entries carry the racy flag; 4: entries carry their owners and targets their
    /// dependencies (an older manifest is not read: the next build takes the full path once
    /// and writes a new one).
    static let version: UInt32 = 4

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
            var dependencies: [[UInt32]] = []
            let targetCount = try r.readCount(minimumItemSize: 56)
            targets.reserveCapacity(targetCount)
            dependencies.reserveCapacity(targetCount)
            for _ in 0..<targetCount {
                // Kind and name apart: written by us, so not re-validated (1,000 parses showed
                // up in the no-op profile).
                let reference = TargetReference(kind: try r.readString(), name: try r.readString())
                targets.append((reference, try r.readDigest()))
                dependencies.append(try Self.readIndices(&r, below: targetCount))
            }
            var entries: [Entry] = []
            let entryCount = try r.readCount(minimumItemSize: 65)
            entries.reserveCapacity(entryCount)
            for _ in 0..<entryCount {
                let path = try r.readString()
                let stat = FileStat(size: try r.readUInt64(), mtimeNanoseconds: try r.readInt64(),
                                    ctimeNanoseconds: try r.readInt64(), inode: try r.readUInt64(),
                                    device: try r.readUInt64(), mode: UInt32(truncatingIfNeeded: try r.readUInt64()))
                let racyDigest = try r.readBool() ? try r.readDigest() : nil
                entries.append(Entry(path: path, stat: stat, racyDigest: racyDigest, owners: try Self.readIndices(&r, below: targetCount)))
            }
            var manifest = NoopManifest(context: context, environmentNames: names, targets: targets, entries: entries, dependencies: dependencies)
            for _ in 0..<(try r.readCount(minimumItemSize: 8)) { manifest.sweepBeside.append(try r.readString()) }
            for _ in 0..<(try r.readCount(minimumItemSize: 8)) { manifest.sweepInside.append(try r.readString()) }
            let headerCount = try r.readCount(minimumItemSize: 4)
            manifest.headerLines = try r.array(UInt32.self, count: headerCount, "header lines")
            let assignmentCount = try r.readCount(minimumItemSize: 4)
            manifest.assignmentLines = try r.array(UInt32.self, count: assignmentCount, "assignment lines")
            try r.expectEnd()
            return manifest
        } catch {
            return nil
        }
    }

    /// A count and that many target indices, each below `count` (a manifest naming a target it
    /// does not hold is not read).
    private static func readIndices(_ r: inout BinaryReader, below count: Int) throws -> [UInt32] {
        let n = try r.readCount(minimumItemSize: 4)
        var indices: [UInt32] = []
        indices.reserveCapacity(n)
        for _ in 0..<n {
            let index = try r.u32("a target index")
            guard Int(index) < count else { throw OutOfRange() }
            indices.append(index)
        }
        return indices
    }

    private struct OutOfRange: Error {}

    private static func writeIndices(_ indices: [UInt32], to w: inout BinaryWriter) {
        w.write(UInt64(indices.count))
        for index in indices { w.u32(index) }
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

    /// Every change, entry by entry, for the incremental path: nil when the context changed
    /// (nothing can then be put down to a file); else the indices of the entries whose file is
    /// gone, whose stat differs, or which were racy and re-hash to another digest, and the
    /// racy entries that were re-hashed.
    public func changedEntries(context current: ContentDigest, disk: any DiskInterface = RealDisk()) -> (changed: [Int], rehashed: [String])? {
        guard current == context else { return nil }
        var changed: [Int] = [], rehashed: [String] = []
        for (index, entry) in entries.enumerated() {
            guard let now = disk.stat(entry.path, followLinks: true), now == entry.stat else {
                changed.append(index)
                continue
            }
            guard let recorded = entry.racyDigest else { continue }
            rehashed.append(entry.path)
            if let (digest, _) = try? disk.digest(ofFileAt: entry.path), digest == recorded { continue }
            changed.append(index)
        }
        return (changed, rehashed)
    }

    /// The targets that `changed` entries make stale: the entries' owners and everything that
    /// depends on them, transitively, as sorted indices into `targets`; nil when a changed
    /// entry has no known owner (the full path must decide).
    public func staleTargets(changed: [Int]) -> [Int]? {
        var stale = [Bool](repeating: false, count: targets.count)
        var work: [Int] = []
        for index in changed {
            guard index < entries.count, !entries[index].owners.isEmpty else { return nil }
            for owner in entries[index].owners where !stale[Int(owner)] {
                stale[Int(owner)] = true
                work.append(Int(owner))
            }
        }
        var dependents = [[Int]](repeating: [], count: targets.count)
        for (target, list) in dependencies.enumerated() {
            for dependency in list { dependents[Int(dependency)].append(target) }
        }
        while let target = work.popLast() {
            for dependent in dependents[target] where !stale[dependent] {
                stale[dependent] = true
                work.append(dependent)
            }
        }
        return stale.indices.filter { stale[$0] }
    }

    /// This manifest after a build of the `stale` targets alone (the incremental path): their
    /// keys replaced by `keys`, the entries that build `witnessed` replacing those of the same
    /// path (owners merged), and the entries only stale targets owned that it no longer
    /// witnessed dropped. Everything else was checked unchanged and stands.
    public func updated(stale: Set<Int>, keys: [TargetReference: ContentDigest], witnessed: [Entry]) -> NoopManifest {
        var copy = self
        for index in stale {
            if let key = keys[targets[index].0] { copy.targets[index].1 = key }
        }
        var byPath: [String: Entry] = [:]
        byPath.reserveCapacity(witnessed.count)
        for entry in witnessed { byPath[entry.path] = entry }
        var merged: [Entry] = []
        merged.reserveCapacity(entries.count + witnessed.count)
        for entry in entries {
            if var fresh = byPath.removeValue(forKey: entry.path) {
                for owner in entry.owners where !fresh.owners.contains(owner) { fresh.owners.append(owner) }
                fresh.owners.sort()
                merged.append(fresh)
            } else if !entry.owners.allSatisfy({ stale.contains(Int($0)) }) || entry.owners.isEmpty {
                merged.append(entry)
            }
        }
        merged.append(contentsOf: byPath.values)
        merged.sort { $0.path < $1.path }
        copy.entries = merged
        return copy
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
        // Sized up front: growing 25 MB by doubling copied it all twice more.
        w.reserve(targets.count * 96 + entries.reduce(0) { $0 + $1.path.utf8.count + 90 + 4 * $1.owners.count } + 4096)
        w.write(context)
        w.write(UInt64(environmentNames.count))
        for name in environmentNames { w.write(name) }
        w.write(UInt64(targets.count))
        for (index, (reference, key)) in targets.enumerated() {
            w.write(reference.kind)
            w.write(reference.name)
            w.write(key)
            Self.writeIndices(index < dependencies.count ? dependencies[index] : [], to: &w)
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
            Self.writeIndices(entry.owners, to: &w)
        }
        for list in [sweepBeside, sweepInside] {
            w.write(UInt64(list.count))
            for path in list { w.write(path) }
        }
        for list in [headerLines, assignmentLines] {
            w.write(UInt64(list.count))
            w.array(list)
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
    /// `position`: each owner's index in the manifest's targets; an entry with an owner it does
    /// not know gets no owners (a change to it is not put down to any target).
    public static func entries(for witnessed: [String: Witnessed], position: (TargetReference) -> UInt32? = { _ in nil },
                               now: Int64? = nil, disk: any DiskInterface = RealDisk()) -> [Entry]? {
        let now = now ?? disk.currentTimeNanoseconds()
        var out: [Entry] = []
        out.reserveCapacity(witnessed.count)
        for path in witnessed.keys.sorted() {
            guard let seen = witnessed[path] else { continue }
            var owners: [UInt32] = []
            for owner in seen.owners {
                guard let index = position(owner) else { owners = []; break }
                owners.append(index)
            }
            owners.sort()
            if isRacy(seen.stat, now: now) {
                guard let digest = seen.digest else { return nil }
                out.append(Entry(path: path, stat: seen.stat, racyDigest: digest, owners: owners))
            } else {
                out.append(Entry(path: path, stat: seen.stat, owners: owners))
            }
        }
        return out
    }
}
