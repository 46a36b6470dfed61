import Foundation
import MLBuildTestSupport
import Testing

/// Two keys every kind accepts (docs/mlfile.md): a target's own `seed` overrides `--seed` and the
/// Mlfile's `seed`, and `description` is free text that is not part of the key.
@Suite("a target's seed and description")
struct TargetSeedAndDescriptionTests {
    @Test func aTargetsOwnSeedOverridesTheCommandLineAndTheMlfile() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        seed = 1
        task own
            seed = 9
            outputs = own.txt
            run = echo "$$MLBUILD_SEED" > own.txt
        task global
            outputs = global.txt
            run = echo "$$MLBUILD_SEED" > global.txt
        """)
        let first = try ws.build(["--seed", "5"])
        #expect(first.targets("built") == ["task:global", "task:own"])
        #expect(try ws.read("own.txt") == "9\n")
        #expect(try ws.read("global.txt") == "5\n")
        for seed in [["--seed", "6"], []] {
            let run = try ws.build(seed)
            #expect(run.statuses == ["task:global": "built", "task:own": "fresh"], "\(seed)")
            #expect(try ws.read("own.txt") == "9\n")
        }
        #expect(try ws.read("global.txt") == "1\n")
    }

    /// features and model with seeds of their own; `subsample` makes boosting use its seed.
    static func mlfile(modelSeed: String?) -> String {
        MLFixtures.mlfile().replacingOccurrences(of: "    stratify = true\n", with: "    stratify = true\n    seed = 3\n")
            .replacingOccurrences(of: "    min_samples_leaf = 5\n",
                                  with: "    min_samples_leaf = 5\n    subsample = 0.5\n" + (modelSeed.map { "    seed = \($0)\n" } ?? ""))
    }

    @Test func featuresAndModelsSplitAndTrainWithTheirOwnSeed() throws {
        let ws = try MLFixtures.workspace(mlfile: Self.mlfile(modelSeed: "11"))
        #expect(try ws.read("Mlfile").contains("    seed = 11\n"))
        let first = try ws.build(["model:gbt", "--seed", "5"])
        #expect(first.result.status == 0, "\(first.result.output)")
        #expect(try MLFixtures.json(ws, "build/features/rows/split.json")["seed"] as? String == "3")
        let lineage = try #require(try MLFixtures.json(ws, "build/model/gbt/model.json")["lineage"] as? [String: Any])
        #expect(lineage["seed"] as? String == "11")

        // Another --seed reaches only targets without a seed of its own that use one: here none
        // (a dataset has nothing random, so the seed is not in its key).
        let other = try ws.build(["model:gbt", "--seed", "6"])
        #expect(other.statuses == ["dataset:rows": "fresh", "features:rows": "fresh", "model:gbt": "fresh"])

        // The model really trained with 11: the same trees as a model without a seed of its own
        // built with --seed 11, and other trees than one built with --seed 5.
        func trees(modelSeed: String?, commandLineSeed: String) throws -> NSDictionary {
            let other = try MLFixtures.workspace(mlfile: Self.mlfile(modelSeed: modelSeed))
            #expect(try other.build(["model:gbt", "--seed", commandLineSeed]).result.status == 0)
            return NSDictionary(dictionary: try #require(try MLFixtures.json(other, "build/model/gbt/model.json")["model"] as? [String: Any]))
        }
        let mine = NSDictionary(dictionary: try #require(try MLFixtures.json(ws, "build/model/gbt/model.json")["model"] as? [String: Any]))
        #expect(mine.isEqual(try trees(modelSeed: nil, commandLineSeed: "11")))
        #expect(!mine.isEqual(try trees(modelSeed: nil, commandLineSeed: "5")), "subsample depends on the seed")
    }

    @Test func aDescriptionIsNotPartOfTheKey() throws {
        let described = Fixtures.diamond.replacingOccurrences(
            of: "task a\n", with: "task a\n    description = copies the source\n")
        let ws = try MLBuildWorkspace(mlfile: described)
        try ws.write("src/a.txt", "hello\n")
        try ws.write("src/c.txt", "world\n")
        let first = try ws.build(["task:d"])
        #expect(first.targets("built").count == 4)
        try ws.write("Mlfile", described.replacingOccurrences(of: "copies the source", with: "another text,\n        over two lines"))
        let changed = try ws.build(["task:d", "--explain"])
        #expect(changed.result.status == 0, "\(changed.result.output)")
        #expect(changed.targets("fresh") == ["task:a", "task:b", "task:c", "task:d"])
        #expect(changed.keys == first.keys)
        #expect(!changed.result.stderr.contains("explain:"), "\(changed.result.stderr)")
        // Without one at all: the same keys.
        try ws.write("Mlfile", Fixtures.diamond)
        let removed = try ws.build(["task:d"])
        #expect(removed.targets("fresh") == ["task:a", "task:b", "task:c", "task:d"])
        #expect(removed.keys == first.keys)
    }
}
