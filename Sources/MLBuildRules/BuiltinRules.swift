import MLBuildEngine

/// Every kind mlbuild knows. A new kind is one file in this module plus one line here.
public enum BuiltinRules {
    public static var registry: RuleRegistry {
        RuleRegistry([TaskRule.self, DatasetRule.self, FeaturesRule.self, ModelRule.self, ContainerRule.self, DeployRule.self])
    }
}
