import Testing

/// The checker behind DocumentedExamplesTests, on made-up documents: it must fail on a changed
/// line and keep the masks when it rewrites a block.
@Suite("documented examples: the checker")
struct DocumentedExamplesCheckerTests {
    @Test func durationsAndEllipsesAreTheOnlyThingsLeftOpen() {
        #expect(ExpectedOutput.lineMatches("[1/3] built dataset:churn (0.42s)", "[1/3] built dataset:churn (12.07s)"))
        #expect(ExpectedOutput.lineMatches("mlbuild: 3 targets: 3 built, 0 restored in 0.52s", "mlbuild: 3 targets: 3 built, 0 restored in 1.00s"))
        #expect(ExpectedOutput.lineMatches(#"{"seconds":0.12,"status":"built"}"#, #"{"seconds":3,"status":"built"}"#))
        #expect(!ExpectedOutput.lineMatches("[1/3] built dataset:churn (0.42s)", "[1/3] restored dataset:churn (from cache)"))
        #expect(!ExpectedOutput.lineMatches("ok, 4 blobs, 24961 bytes verified", "ok, 3 blobs, 6556 bytes verified"))
        #expect(!ExpectedOutput.lineMatches("exceeds 30 s", "exceeds 31 s"), "a whole number of seconds is not a measured duration")

        #expect(ExpectedOutput.lineMatches("manifest sha256:d883…", "manifest sha256:d88383dd0123"))
        #expect(!ExpectedOutput.lineMatches("manifest sha256:d883…", "manifest sha256:9bc2"))
        #expect(ExpectedOutput.lineMatches("a … c … e", "a b c d e"))
        #expect(ExpectedOutput.lineMatches("a…a", "aa"))
        #expect(!ExpectedOutput.lineMatches("a…a", "a"), "the two ends may not overlap")
        #expect(!ExpectedOutput.lineMatches("a … c … e", "a d e c"))
        #expect(ExpectedOutput.lineMatches("trailing  ", "trailing"))
    }

    @Test func aLineOfEllipsisStandsForAnyNumberOfLines() {
        #expect(ExpectedOutput.matches(["first", "    …", "last"], ["first", "last"]))
        #expect(ExpectedOutput.matches(["first", "    …", "last"], ["first", "a", "b", "last"]))
        #expect(!ExpectedOutput.matches(["first", "…", "last"], ["first", "a", "b"]))
        #expect(!ExpectedOutput.matches(["first"], ["first", "more"]))
        #expect(!ExpectedOutput.matches(["first", "more"], ["first"]))
    }

    @Test func aNonZeroExitIsTheLastLine() {
        #expect(ExpectedOutput.lines(of: "error: x  \n\n", status: 2) == ["error: x", "[exit 2]"])
        #expect(ExpectedOutput.lines(of: "ok\n", status: 0) == ["ok"])
        #expect(ExpectedOutput.lines(of: "", status: 0) == [])
    }

    @Test func anUpdateKeepsMatchingLinesAsWrittenAndTakesInTheRest() {
        let documented = ["[1/2] built a (0.10s)", "…", "image sha256:d883…: 2 layers", "mlbuild: done in 0.50s"]
        let actual = ["[1/2] built a (0.31s)", "x", "y", "image sha256:9bc2aa: 1 layers", "mlbuild: done in 0.62s"]
        let edits = ExpectedOutput.align(documented, actual)
        #expect(!ExpectedOutput.matches(documented, actual))
        #expect(ExpectedOutput.rewritten(edits) == ["[1/2] built a (0.10s)", "…", "image sha256:9bc2aa: 1 layers", "mlbuild: done in 0.50s"])
        #expect(ExpectedOutput.difference(edits) == """
              [1/2] built a (0.10s)
              …   (2 lines)
            - image sha256:d883…: 2 layers
            + image sha256:9bc2aa: 1 layers
              mlbuild: done in 0.50s
            """)
    }

    @Test func documentsAreReadIntoFilesAndCommandsAndRewrittenInPlace() throws {
        let document = """
            Intro.

            ```text file=sub/Mlfile
            task a
                run = true
            ```

            ````markdown
            ```console
            $ not run: inside a four-backtick block
            ```
            ````

            - a list item:

              ```console
              $ mlbuild -C sub
              old line
              $ echo done
              done
              ```

            ```console unchecked="needs a registry"
            $ skopeo copy …
            ```
            """
        let examples = try MarkdownExamples(path: "doc.md", text: document)
        #expect(examples.commands.map(\.text) == ["mlbuild -C sub", "echo done"])
        #expect(examples.commands.map(\.expected) == [["old line"], ["done"]])
        #expect(examples.commands.first?.line == 16)
        guard case .file(let path, let content) = try #require(examples.steps.first) else {
            Issue.record("the first step is the file")
            return
        }
        #expect(path == "sub/Mlfile")
        #expect(content == "task a\n    run = true\n")

        let rewritten = examples.rewritten([16: ["new line", "", "another"]])
        #expect(rewritten == document.replacingOccurrences(of: "  old line\n", with: "  new line\n\n  another\n"))
    }

    @Test func malformedBlocksAreErrorsNamingTheLine() {
        #expect(throws: MarkdownExamples.Failure.self) { try MarkdownExamples(path: "d.md", text: "```console\noutput first\n```\n") }
        #expect(throws: MarkdownExamples.Failure.self) { try MarkdownExamples(path: "d.md", text: "```console\n$ true\n") }
        #expect(throws: MarkdownExamples.Failure.self) { try MarkdownExamples(path: "d.md", text: "```text file=../x\nx\n```\n") }
        #expect(throws: MarkdownExamples.Failure.self) { try MarkdownExamples(path: "d.md", text: "```console unchecked=\n$ x\n```\n") }
        let error = #expect(throws: MarkdownExamples.Failure.self) { try MarkdownExamples(path: "d.md", text: "\n```console\nno command\n```\n") }
        #expect(error?.description.hasPrefix("d.md:3: ") == true)
    }

    @Test func excerptsMustKeepTheSourcesLinesAndOrder() {
        let source = "# head\na\nb\n\n# note\nc\nd\n"
        #expect(RepositoryFacts.firstLineNotInOrder(["a", "…", "d"], of: source) == nil)
        #expect(RepositoryFacts.firstLineNotInOrder(["b", "c", "d"], of: source) == nil, "blank and comment lines may be left out")
        #expect(RepositoryFacts.firstLineNotInOrder(["a", "b", "", "c"], of: source) == nil)
        #expect(RepositoryFacts.firstLineNotInOrder(["a", "c"], of: source)?.0 == 1, "b is left out without a …")
        #expect(RepositoryFacts.firstLineNotInOrder(["c", "…", "b"], of: source)?.0 == 2)
        #expect(RepositoryFacts.firstLineNotInOrder(["a", "x"], of: source)?.1 == "x")
    }

    @Test func installDepsPackagesAndTheReadmeRows() {
        let script = """
            packages=(libarchive-dev zlib1g-dev)
            if [[ "${1:-}" == "--tests" ]]; then
              packages+=(nginx skopeo)
            fi
            if [[ "${1:-}" == "--bench" ]]; then
              packages+=(wrk)
            fi
            """
        #expect(RepositoryFacts.installDepsPackages(script).base == ["libarchive-dev", "zlib1g-dev"])
        #expect(RepositoryFacts.installDepsPackages(script).tests == ["nginx", "skopeo"])
        #expect(RepositoryFacts.installDepsPackages(script).bench == ["wrk"])
        let readme = "| building and the example | `libarchive-dev`, `zlib1g-dev` |\n| the tests (`--tests`) | `nginx` |\n"
        #expect(RepositoryFacts.readmePackages(readme, row: "| building") == ["libarchive-dev", "zlib1g-dev"])
        #expect(RepositoryFacts.readmePackages(readme, row: "| the tests") == ["nginx"])
    }
}
