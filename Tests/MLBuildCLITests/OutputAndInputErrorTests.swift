import Foundation
import MLBuildTestSupport
import Testing

/// Two promises of docs/mlfile.md about declared paths: an output belongs to one target (two
/// targets writing it is an Mlfile error at the second one's line and column, before anything
/// runs), and an input pattern that matches nothing, or a missing input file, is an error naming
/// the pattern at its line and column.
@Suite("outputs written twice and inputs that match nothing")
struct OutputAndInputErrorTests {
    @Test func twoTargetsWritingTheSameOutputIsAnMlfileError() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task a
            outputs = out/x.txt
            run = echo a > out/x.txt
        task b
            outputs = out/y.txt, out/x.txt
            run = echo b > out/x.txt; echo b > out/y.txt
        """)
        let run = try ws.run([])
        #expect(run.status == 2)
        #expect(run.stdout.isEmpty)
        // The source line is shown after a four-space gutter, the caret under column 26.
        #expect(run.stderr.contains("""
            Mlfile:5:26: error: output 'out/x.txt' of task:b is also an output of task:a
                    outputs = out/y.txt, out/x.txt
                                         ^

            """), "\(run.stderr)")
        #expect(!ws.exists("out"), "nothing ran")
    }

    @Test func anInputPatternThatMatchesNothingFailsTheTargetAtItsLocation() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task collect
            inputs = src/a.txt, data/*.csv
            outputs = out/all.csv
            run = cat data/*.csv > out/all.csv
        task one
            inputs = src/missing.txt
            outputs = out/one.txt
            run = cp src/missing.txt out/one.txt
        """)
        try ws.write("src/a.txt", "a\n")
        try ws.write("data/notes.txt", "not a csv\n")
        let glob = try ws.build(["task:collect"])
        #expect(glob.result.status == 1)
        #expect(glob.statuses == ["task:collect": "failed"])
        #expect(glob.result.stderr.contains("Mlfile:2:25: error: input pattern 'data/*.csv' matches no files"), "\(glob.result.stderr)")
        #expect(!ws.exists("out"))

        let file = try ws.build(["task:one"])
        #expect(file.result.status == 1)
        #expect(file.statuses == ["task:one": "failed"])
        #expect(file.result.stderr.contains("Mlfile:6:14: error: input 'src/missing.txt' does not exist"), "\(file.result.stderr)")

        // Once the pattern matches, the target builds.
        try ws.write("data/rows.csv", "1\n")
        let fixed = try ws.build(["task:collect"])
        #expect(fixed.targets("built") == ["task:collect"])
        #expect(try ws.read("out/all.csv") == "1\n")
    }
}
