import MLBuildCore

/// Walks a declared output after its rule ran, without following symbolic links: what the
/// action result will list. One `lstat` per entry and an explicit stack, so a link loop
/// (`ln -s . out/l`) is one symlink entry, never a hang or nested copies.
///
/// - a regular file → a file entry;
/// - a symbolic link → a symlink entry holding its target, which must be relative and, read
///   from the link's directory, stay inside the workspace;
/// - a directory → its contents; an empty directory → a directory entry;
/// - anything else (fifo, socket, device) → an error naming it.
enum OutputCollector {
    enum Entry: Equatable {
        case file(String)
        case symlink(String, target: String)
        case directory(String)
    }

    static func entries(of declared: String, target: TargetReference, disk: any DiskInterface = RealDisk()) throws -> [Entry] {
        guard disk.stat(declared, followLinks: false) != nil else {
            throw RuleFailure("\(target) did not produce its output '\(declared)'")
        }
        var out: [Entry] = []
        var pending = [declared]
        while let path = pending.popLast() {
            guard let stat = disk.stat(path, followLinks: false) else {
                throw RuleFailure("output '\(path)' of \(target) disappeared while it was collected")
            }
            if stat.isRegularFile {
                out.append(.file(path))
            } else if stat.isSymbolicLink {
                let link = try disk.readLink(path)
                if link.hasPrefix("/") {
                    throw RuleFailure("output '\(path)' of \(target) is a symbolic link to an absolute path ('\(link)'); "
                        + "links in outputs must be relative and stay inside the workspace")
                }
                guard WorkspacePath.staysInside(link: path, target: link) else {
                    throw RuleFailure("output '\(path)' of \(target) is a symbolic link that leaves the workspace ('\(link)')")
                }
                out.append(.symlink(path, target: link))
            } else if stat.isDirectory {
                let names = try disk.listDirectory(path)
                if names.isEmpty { out.append(.directory(path)) }
                for name in names.reversed() { pending.append("\(path)/\(name)") }
            } else {
                throw RuleFailure("output '\(path)' of \(target) is \(stat.kindDescription): "
                    + "outputs must be regular files, directories or symbolic links")
            }
        }
        return out
    }
}
