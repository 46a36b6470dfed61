import Foundation
import MLBuildTestSupport
import Testing

/// Keys as fine as the work (issue 11, item 7): the seed enters only the keys of kinds that use
/// randomness, and a model whose test rows changed is re-evaluated with its cached fit.
@Suite("keys as fine as the work")
struct FineGrainedKeysTests {
    @Test func anotherSeedRebuildsWhatIsRandomAndNotTheDataset() throws {
        let ws = try MLFixtures.workspace()
        let first = try ws.build(["model:gbt"])
        #expect(first.result.status == 0, "\(first.result.output)")
        let dataset = try MLFixtures.bytes(ws, "build/dataset/rows/data.bin")
        let seeded = try ws.build(["model:gbt", "--seed", "8", "--explain"])
        #expect(seeded.result.status == 0, "\(seeded.result.output)")
        #expect(seeded.statuses == ["dataset:rows": "fresh", "features:rows": "built", "model:gbt": "built"])
        #expect(seeded.keys["dataset:rows"] == first.keys["dataset:rows"])
        #expect(seeded.result.stderr.contains("explain: features:rows: seed changed\n"), "\(seeded.result.stderr)")
        #expect(try MLFixtures.bytes(ws, "build/dataset/rows/data.bin") == dataset)
        // A new seed is a new fit, never a reused one.
        #expect(seeded.result.output.contains(" rows (fit "), "\(seeded.result.output)")
        #expect(!seeded.result.output.contains("reused fit"), "\(seeded.result.output)")
    }

    /// With a features target of its own seed, only the model sees `--seed`: it is rebuilt, and
    /// `--explain` says it is for the seed.
    @Test func theModelIsRebuiltForTheSeedAlone() throws {
        let mlfile = MLFixtures.mlfile().replacingOccurrences(of: "    stratify = true\n", with: "    stratify = true\n    seed = 3\n")
            .replacingOccurrences(of: "    min_samples_leaf = 5\n", with: "    min_samples_leaf = 5\n    subsample = 0.5\n")
        let ws = try MLFixtures.workspace(mlfile: mlfile)
        #expect(try ws.build(["model:gbt"]).result.status == 0)
        let model = try MLFixtures.bytes(ws, "build/model/gbt/model.json")
        let seeded = try ws.build(["model:gbt", "--seed", "8", "--explain"])
        #expect(seeded.statuses == ["dataset:rows": "fresh", "features:rows": "fresh", "model:gbt": "built"])
        #expect(seeded.result.stderr.contains("explain: model:gbt: seed changed\n"), "\(seeded.result.stderr)")
        #expect(!seeded.result.stderr.contains("explain: dataset:rows"), "\(seeded.result.stderr)")
        #expect(try MLFixtures.bytes(ws, "build/model/gbt/model.json") != model, "subsample draws with the seed")
    }

    /// Training rows from one dataset, test rows from another (`test = dataset:OTHER`).
    static let holdoutMlfile = """
    seed = 7

    dataset train
        source = data/train.csv
        schema = \(MLFixtures.schema)

    dataset holdout
        source = data/holdout.csv
        schema = \(MLFixtures.schema)

    features rows
        dataset = dataset:train
        test = dataset:holdout
        label = label
        one_hot = plan
        standardize = amount
        impute = score:median

    model gbt
        features = features:rows
        algorithm = gradient_boosting
        trees = 20
        subsample = 0.5
        cv = 3

    model lr
        features = features:rows
        algorithm = logistic_regression
        threshold = max_f1
    """

    static func holdoutWorkspace(holdoutRows: Int) throws -> MLBuildWorkspace {
        let ws = try MLBuildWorkspace(mlfile: holdoutMlfile)
        try ws.write("data/train.csv", MLFixtures.csv(rows: 300))
        try ws.write("data/holdout.csv", MLFixtures.csv(rows: holdoutRows, start: 1000))
        return ws
    }

    /// Every file under `directory`, by relative path.
    static func files(_ ws: MLBuildWorkspace, under directory: String) throws -> [String: Data] {
        let root = URL(fileURLWithPath: "\(ws.path)/\(directory)")
        var out: [String: Data] = [:]
        let paths = try #require(FileManager.default.subpathsOfDirectory(atPath: root.path) as [String]?)
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root.appendingPathComponent(path).path, isDirectory: &isDirectory),
                  !isDirectory.boolValue else { continue }
            out[path] = try Data(contentsOf: root.appendingPathComponent(path))
        }
        return out
    }

    @Test func newTestRowsReEvaluateTheCachedFitToTheSameBytes() throws {
        let ws = try Self.holdoutWorkspace(holdoutRows: 100)
        let first = try ws.build(["-j", "2"])
        #expect(first.result.status == 0, "\(first.result.output)")
        #expect(!first.result.output.contains("reused fit"))

        // Only the test rows change: every model and fold runs, none trains.
        try ws.write("data/holdout.csv", MLFixtures.csv(rows: 80, start: 1000))
        let evaluated = try ws.build(["-j", "2", "--explain"])
        #expect(evaluated.result.status == 0, "\(evaluated.result.output)")
        #expect(evaluated.statuses == [
            "dataset:train": "fresh", "dataset:holdout": "built", "features:rows": "built",
            "cv:gbt.fold-1": "built", "cv:gbt.fold-2": "built", "cv:gbt.fold-3": "built",
            "model:gbt": "built", "model:lr": "built",
        ])
        let output = evaluated.result.output
        #expect(output.contains("gradient_boosting on 300 rows; reused fit "), "\(output)")
        #expect(output.contains("logistic_regression on 300 rows, threshold "), "\(output)")
        let reused = output.split(separator: "\n").filter { $0.contains("reused fit ") && $0.contains("(training rows, parameters and seed unchanged)") }
        #expect(reused.count == 5, "\(output)")  // two models, three folds
        #expect(!output.contains("(fit "), "\(output)")
        #expect(output.contains("test (80 rows)"), "\(output)")

        // The same bytes as a build from scratch with those test rows.
        let scratch = try Self.holdoutWorkspace(holdoutRows: 80)
        let fresh = try scratch.build(["-j", "2"])
        #expect(fresh.result.status == 0, "\(fresh.result.output)")
        #expect(!fresh.result.output.contains("reused fit"))
        #expect(fresh.keys == evaluated.keys)
        for directory in ["build/model/gbt", "build/model/lr", "build/cv/gbt"] {
            let mine = try Self.files(ws, under: directory), theirs = try Self.files(scratch, under: directory)
            #expect(!mine.isEmpty)
            #expect(mine.keys.sorted() == theirs.keys.sorted(), "\(directory)")
            for (path, bytes) in mine { #expect(bytes == theirs[path], "\(directory)/\(path)") }
        }

        // New training rows: a real fit again.
        try ws.write("data/train.csv", MLFixtures.csv(rows: 301))
        let trained = try ws.build(["-j", "2"])
        #expect(trained.result.status == 0, "\(trained.result.output)")
        #expect(!trained.result.output.contains("reused fit"), "\(trained.result.output)")
        #expect(trained.result.output.contains("gradient_boosting on 301 rows (fit "), "\(trained.result.output)")
    }
}
