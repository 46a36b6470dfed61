import MLBuildCore
import Testing

@Suite("MlfileValueEdit: one line per value, every other byte kept")
struct MlfileValueEditTests {
    let lr = TargetReference(kind: "model", name: "lr")
    let gbt = TargetReference(kind: "model", name: "gbt")

    func edit(_ text: String, _ changes: [MlfileValueEdit.Change]) throws -> String {
        String(decoding: try MlfileValueEdit.apply(changes, to: Array(text.utf8), path: "Mlfile"), as: UTF8.self)
    }

    @Test func replacesAValueKeepingCommentsSpacingAndLineEndings() throws {
        let text = "seed = 1\r\n# lr\r\nmodel lr\r\n\tfeatures = features:f\r\n\tl2   =  ${env:L2:-1.0}   # swept\r\n\talgorithm = logistic_regression\r\n"
        let out = try edit(text, [.init(target: lr, key: "l2", value: "0.1")])
        #expect(out == "seed = 1\r\n# lr\r\nmodel lr\r\n\tfeatures = features:f\r\n\tl2   =  0.1   # swept\r\n\talgorithm = logistic_regression\r\n")
    }

    @Test func insertsAMissingKeyAfterTheTargetsLastKeyWithItsIndentation() throws {
        let text = "model lr\n  l2 = 1\n\nmodel gbt\n  trees = 20\n  gate = auc >= 0.7,\n     recall >= 0.1\n# end\n"
        let out = try edit(text, [.init(target: gbt, key: "learning_rate", value: "0.05"), .init(target: lr, key: "l2", value: "10")])
        #expect(out == "model lr\n  l2 = 10\n\nmodel gbt\n  trees = 20\n  gate = auc >= 0.7,\n     recall >= 0.1\n  learning_rate = 0.05\n# end\n")
        // A last line without a newline keeps ending without one.
        #expect(try edit("model gbt\n    trees = 20", [.init(target: gbt, key: "learning_rate", value: "0.1")])
            == "model gbt\n    trees = 20\n    learning_rate = 0.1")
    }

    @Test func refusesWhatItCannotWriteSafely() throws {
        #expect(throws: MlfileValueEdit.Failure("Mlfile has no target model:gbt")) {
            try edit("model lr\n  l2 = 1\n", [.init(target: gbt, key: "trees", value: "3")])
        }
        #expect(throws: MlfileValueEdit.Failure("Mlfile:2: the value of 'l2' of model:lr spans 2 lines; edit it by hand")) {
            try edit("model lr\n  l2 = 1\n     2\n", [.init(target: lr, key: "l2", value: "3")])
        }
        #expect(throws: MlfileValueEdit.Failure("cannot write 'a#b' as the value of 'l2' of model:lr: it has the character '#'")) {
            try edit("model lr\n  l2 = 1\n", [.init(target: lr, key: "l2", value: "a#b")])
        }
    }
}

extension MlfileValueEdit.Failure: Equatable {
    public static func == (a: Self, b: Self) -> Bool { a.description == b.description }
}
