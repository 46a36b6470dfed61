import MLBuildCore

/// Where a container puts each packed dependency's files in the image (documented in
/// docs/containers.md, "Mlfile: the container kind"):
///
///     model:X     build/model/X/REST      -> /model/REST
///     dataset:X   build/dataset/X/REST    -> /data/X/REST
///     features:X  build/features/X/REST   -> /features/X/REST
///     other       PATH (workspace-relative) -> /workspace/PATH
///
/// A file of a model, dataset or features result outside its kind's directory (none today)
/// falls back to the `/workspace/` rule. A container packs at most one model, so `/model/` never
/// mixes two bundles.
public enum ContainerLayout {
    public static func imagePath(of path: String, producedBy target: TargetReference) -> String {
        let mapped: [String: String] = [
            "model": "/model/",
            "dataset": "/data/\(target.name)/",
            "features": "/features/\(target.name)/",
        ]
        if let destination = mapped[target.kind] {
            let prefix = "build/\(target.kind)/\(target.name)/"
            if path.hasPrefix(prefix) { return destination + path.dropFirst(prefix.count) }
        }
        return "/workspace/" + path
    }
}
