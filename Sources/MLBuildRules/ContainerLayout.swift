import MLBuildCore

/// Where a container puts each packed dependency's files in the image (documented in
/// docs/containers.md, "Mlfile: the container kind"):
///
///     model:X     build/model/X/REST      -> /model/REST
///     dataset:X   build/dataset/X/REST    -> /data/X/REST
///     features:X  build/features/X/REST   -> /features/X/REST
///     other       PATH (workspace-relative) -> /workspace/PATH
///
/// `build/KIND/X` stands for the dependency's declared output directory, which the container
/// rule takes from its `RuleContext` (`outputDirectory(of:)`): a relocated model
/// (`build/exp/<id>/build/model/X`) lands in `/model/` like any other. A file of a model, dataset
/// or features result outside that directory (none today) falls back to the `/workspace/` rule. A
/// container packs at most one model, so `/model/` never mixes two bundles.
public enum ContainerLayout {
    /// `directory`: the producer's declared output directory, workspace-relative.
    public static func imagePath(of path: String, producedBy target: TargetReference, directory: String) -> String {
        let mapped: [String: String] = [
            "model": "/model/",
            "dataset": "/data/\(target.name)/",
            "features": "/features/\(target.name)/",
        ]
        if let destination = mapped[target.kind] {
            let prefix = directory + "/"
            if path.hasPrefix(prefix) { return destination + path.dropFirst(prefix.count) }
        }
        return "/workspace/" + path
    }
}
