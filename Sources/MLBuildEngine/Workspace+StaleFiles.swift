import MLBuildCore

extension Workspace {
    /// Removes the temp files and staging directories that killed mlbuild processes left where
    /// mlbuild writes them in this workspace: beside every declared output, inside directory
    /// outputs (without following symbolic links) and in `.mlbuild/` (see StaleTemporaryFiles
    /// for the names and the test of staleness). Call it holding the workspace lock. Returns the
    /// workspace-relative paths removed.
    @discardableResult
    public func sweepStaleTemporaryFiles(project: Project) -> [String] {
        var beside: Set<String> = []
        var inside: Set<String> = []
        var unsafeParents: Set<String> = []
        for output in project.producers.keys {
            // A parent behind a symbolic link is not the workspace's to clean. Outputs that
            // share a directory share its check (the check looks at parents only).
            let parent = FileSystem.parent(of: output)
            if unsafeParents.contains(parent) { continue }
            if !beside.contains(parent) {
                guard (try? WorkspacePath.checkParents(of: output)) != nil else {
                    unsafeParents.insert(parent)
                    continue
                }
            }
            beside.insert(parent)
            if FileStat.of(output, followLinks: false)?.isDirectory == true { inside.insert(output) }
        }
        var removed = StaleTemporaryFiles.sweep(".mlbuild")
        for directory in beside.sorted() { removed += StaleTemporaryFiles.sweep(directory) }
        for directory in inside.sorted() { removed += StaleTemporaryFiles.sweep(directory, recursive: true) }
        return removed
    }
}
