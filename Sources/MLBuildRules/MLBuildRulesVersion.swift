/// The mlbuild version recorded in artifacts (model.json's lineage). It lives here, below the
/// CLI, so that rules can reach it; `MLBuildVersion.current` in MLBuildCLI should equal it.
public enum MLBuildRulesVersion {
    public static let current = "0.1.0"
}
