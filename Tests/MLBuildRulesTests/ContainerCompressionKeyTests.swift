import MLBuildCore
import MLBuildOCI
import MLBuildRules
import Testing

/// `compression = gzip | zstd` on a container target: parsed once, into the rule; anything else
/// is an Mlfile error at the value naming the key and the allowed values.
@Suite("Mlfile: a container's compression")
struct ContainerCompressionKeyTests {
    static func mlfile(_ compression: String?) -> String {
        """
        task a
            outputs = out/a
            run = mkdir -p out/a
        container app: task:a
            cmd = /bin/true
        \(compression.map { "    compression = \($0)\n" } ?? "")
        """
    }

    static func rule(_ outcome: ProjectLoading.Outcome) -> ContainerRule? {
        outcome.project?.rules.values.lazy.compactMap { $0 as? ContainerRule }.first
    }

    @Test(arguments: [(nil, LayerCompression.gzip), ("gzip", .gzip), ("zstd", .zstd)])
    func knownValues(text: String?, expected: LayerCompression) throws {
        let outcome = ProjectLoading.load(Self.mlfile(text))
        #expect(outcome.diagnostics.isEmpty, "\(outcome.messages)")
        #expect(try #require(Self.rule(outcome)).compression == expected)
    }

    @Test func anUnknownValueNamesTheKeyAndTheChoicesAtItsPlace() throws {
        let outcome = ProjectLoading.load(Self.mlfile("lz4"))
        #expect(outcome.problems.isEmpty, "\(outcome.problems)")
        #expect(outcome.messages == ["6:19: unknown compression 'lz4' (the compressions are: gzip, zstd)"])
    }
}
