#if canImport(Glibc)
import Glibc
#endif

/// Temp files and staging directories that a killed mlbuild left behind, and their removal.
///
/// Every temp name mlbuild writes embeds the id of the process writing it, in one of these
/// patterns (the writers are named; keep them in step):
///
///     .tmp-NAME.PID.RANDOM        AtomicFile (MLBuildBasics): every atomic write and restore, next to the file
///     .NAME.tmp-PID-RANDOM        older OCI and dataset writers; DirectoryLayerBlobCache (still swept)
///     .NAME.staging-PID-RANDOM    OCIImageBuilder's staging directory (layers, extracted base image)
///     blob|remote|layer.PID.RANDOM  files being written in a cache's tmp/ (cacheTemporary patterns)
///
/// Such an entry is stale when its process is gone (`kill(pid, 0)` fails with ESRCH). Nothing
/// else is ever removed: a name that does not follow a pattern exactly, or whose process
/// exists (or cannot be asked), stays. The callers sweep only where mlbuild writes these names,
/// and only while they hold the lock that keeps other mlbuild processes from writing there.
public enum StaleTemporaryFiles {
    /// The id of the process that wrote `name`, when `name` follows one of mlbuild's temp
    /// patterns; `cacheTemporary` admits the cache's tmp/ names too.
    public static func writerProcess(of name: String, cacheTemporary: Bool = false) -> pid_t? {
        if name.hasPrefix(".tmp-") {
            // .tmp-NAME.PID.RANDOM
            let fields = name.dropFirst(5).split(separator: ".", omittingEmptySubsequences: false)
            guard fields.count >= 3, !fields[0].isEmpty, isNumber(fields[fields.count - 1]) else { return nil }
            return pid(fields[fields.count - 2])
        }
        if name.hasPrefix(".") {
            // .NAME.tmp-PID-RANDOM, .NAME.staging-PID-RANDOM (NAME may hold dots, not be empty)
            let fields = name.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
            guard fields.count >= 2, let last = fields.last, !fields.dropLast().joined(separator: ".").isEmpty else { return nil }
            let parts = last.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "tmp" || parts[0] == "staging", isNumber(parts[2]) else { return nil }
            return pid(parts[1])
        }
        if cacheTemporary {
            let fields = name.split(separator: ".", omittingEmptySubsequences: false)
            guard fields.count == 3, ["blob", "remote", "layer"].contains(fields[0]), isNumber(fields[2]) else { return nil }
            return pid(fields[1])
        }
        return nil
    }

    /// Whether process `pid` no longer exists (EPERM means it does, under another user).
    public static func isGone(_ pid: pid_t) -> Bool {
        kill(pid, 0) != 0 && errno == ESRCH
    }

    /// Removes the stale entries directly in `directory` (and, with `recursive`, in the real
    /// directories below it; symbolic links are never followed). Returns the paths removed.
    @discardableResult
    public static func sweep(_ directory: String, recursive: Bool = false, cacheTemporary: Bool = false) -> [String] {
        guard let names = try? FileSystem.listDirectory(directory) else { return [] }
        var removed: [String] = []
        for name in names {
            let path = directory == "." ? name : "\(directory)/\(name)"
            if let pid = writerProcess(of: name, cacheTemporary: cacheTemporary), pid != getpid(), isGone(pid) {
                if (try? FileSystem.removeTree(path)) != nil { removed.append(path) }
                continue
            }
            if recursive, FileStat.of(path, followLinks: false)?.isDirectory == true {
                removed += sweep(path, recursive: true, cacheTemporary: cacheTemporary)
            }
        }
        return removed
    }

    private static func isNumber(_ text: Substring) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 48 && $0 <= 57 }
    }

    private static func pid(_ text: Substring) -> pid_t? {
        guard isNumber(text), let value = pid_t(text), value > 0 else { return nil }
        return value
    }
}
