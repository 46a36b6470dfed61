import MLBuildCore
#if canImport(Glibc)
import Glibc
#endif

extension Workspace {
    /// Removes the temp files and staging directories that killed mlbuild processes left where
    /// mlbuild writes them in this workspace: beside every declared output, inside directory
    /// outputs (without following symbolic links) and in `.mlbuild/` (see StaleTemporaryFiles
    /// for the names and the test of staleness). Call it holding the workspace lock. Returns the
    /// workspace-relative paths removed.
    @discardableResult
    public func sweepStaleTemporaryFiles(project: Project) -> [String] {
        let places = temporaryFilePlaces(project: project)
        return sweepStaleTemporaryFiles(beside: places.beside, inside: places.inside)
    }

    /// Where a sweep looks: the directories beside the declared outputs (their parents, when
    /// no symbolic link is on the way) and the directory outputs, each sorted. The no-op
    /// manifest keeps them, so that the incremental path sweeps as a full build does.
    public func temporaryFilePlaces(project: Project) -> (beside: [String], inside: [String]) {
        var beside: Set<String> = []
        var unsafeParents: Set<String> = []
        var outputsByParent: [String: [(path: String, name: String)]] = [:]
        for output in project.producers.keys {
            // A parent behind a symbolic link is not the workspace's to clean. Outputs that
            // share a directory share its check (the check looks at parents only).
            let (parent, name) = Self.split(output)
            if unsafeParents.contains(parent) { continue }
            if !beside.contains(parent) {
                guard (try? WorkspacePath.checkParents(of: output)) != nil else {
                    unsafeParents.insert(parent)
                    continue
                }
            }
            beside.insert(parent)
            outputsByParent[parent, default: []].append((output, name))
        }
        // Which outputs are directories: one listing of each parent (its entries' types), not
        // an lstat per output, which was most of this sweep at 10,000 targets.
        var inside: [String] = []
        for (parent, outputs) in outputsByParent {
            let directories = Self.directoryEntries(in: parent)
            inside += outputs.filter { directories.contains($0.name) }.map(\.path)
        }
        return (beside.sorted(), inside.sorted())
    }

    /// Sweeps `.mlbuild/`, each of `beside` and, recursively, each of `inside`.
    @discardableResult
    public func sweepStaleTemporaryFiles(beside: [String], inside: [String]) -> [String] {
        var removed = StaleTemporaryFiles.sweep(".mlbuild")
        for directory in beside { removed += StaleTemporaryFiles.sweep(directory) }
        for directory in inside { removed += StaleTemporaryFiles.sweep(directory, recursive: true) }
        return removed
    }

    /// `FileSystem.parent(of:)` and `lastComponent(of:)` at once, on UTF-8 bytes ('/' is never
    /// part of a multi-byte character): Character-wise search was half of this sweep.
    static func split(_ path: String) -> (parent: String, name: String) {
        let bytes = path.utf8
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return (".", path) }
        let name = String(path[bytes.index(after: slash)...])
        if slash == bytes.startIndex { return ("/", name) }
        return (String(path[..<slash]), name)
    }

    /// The names of the real directories directly in `directory` (symbolic links are not
    /// followed; an entry whose type the filesystem does not report is lstat'ed).
    static func directoryEntries(in directory: String) -> Set<String> {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: Set<String> = []
        while let entry = readdir(handle) {
            let type = entry.pointee.d_type
            guard type == UInt8(DT_DIR) || type == UInt8(DT_UNKNOWN) else { continue }
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name == "." || name == ".." { continue }
            if type == UInt8(DT_UNKNOWN) {
                let path = directory == "." ? name : "\(directory)/\(name)"
                guard FileStat.of(path, followLinks: false)?.isDirectory == true else { continue }
            }
            names.insert(name)
        }
        return names
    }
}
