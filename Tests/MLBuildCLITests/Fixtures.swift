import Foundation
import MLBuildTestSupport

/// A diamond of four tasks: a -> b, c, and d needs b and c. b upper-cases a's output, so a
/// change of case in src/a.txt leaves b's output identical (early cutoff).
enum Fixtures {
    static let diamond = """
    # a small diamond
    seed = 7

    task a
        inputs = src/a.txt
        outputs = out/a.txt
        run = cp src/a.txt out/a.txt

    task b: task:a
        inputs = out/a.txt
        outputs = out/b.txt
        run = tr a-z A-Z < out/a.txt > out/b.txt

    task c
        inputs = src/c.txt
        outputs = out/c.txt
        run = cat src/c.txt > out/c.txt

    task d: task:b, task:c
        outputs = out/d.txt
        run = cat out/b.txt out/c.txt > out/d.txt
    """

    /// The same meaning, written differently: comments, indentation, key order, list spacing.
    static let diamondReformatted = """
    seed = 7   # the seed

    # c first this time
    task c
      run = cat src/c.txt > out/c.txt
      outputs =   out/c.txt
      inputs = src/c.txt

    task a
            outputs = out/a.txt
            inputs = src/a.txt
            run = cp src/a.txt out/a.txt
    task b : task:a
        run = tr a-z A-Z < out/a.txt > out/b.txt
        inputs = out/a.txt
        outputs = out/b.txt

    task d: task:b,task:c
        run = cat out/b.txt out/c.txt
            > out/d.txt
        outputs = out/d.txt
    """

    static func diamondWorkspace(cacheDirectory: String? = nil) throws -> MLBuildWorkspace {
        let ws = try MLBuildWorkspace(mlfile: diamond, cacheDirectory: cacheDirectory)
        try ws.write("src/a.txt", "hello\n")
        try ws.write("src/c.txt", "world\n")
        return ws
    }
}
