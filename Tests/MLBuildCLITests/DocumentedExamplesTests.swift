import Foundation
import MLBuildTestSupport
import Testing

/// What README.md and docs/*.md show is what mlbuild does: every ```` ```console ```` block is
/// run for real on a copy of the example and its output compared with the documented one
/// (convention: docs/README.md, "Checked examples"). With `MLBUILD_UPDATE_DOCS=1` the documented
/// outputs are rewritten from the real runs instead, to be reviewed in the diff:
///
///     MLBUILD_UPDATE_DOCS=1 swift test --filter DocumentedExamples
@Suite("documented examples")
struct DocumentedExamplesTests {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static let updating = ProcessInfo.processInfo.environment["MLBUILD_UPDATE_DOCS"] == "1"

    /// README.md and every docs/*.md.
    static var documents: [String] {
        let docs = (try? FileManager.default.contentsOfDirectory(atPath: repositoryRoot.appendingPathComponent("docs").path)) ?? []
        return ["README.md"] + docs.filter { $0.hasSuffix(".md") }.sorted().map { "docs/" + $0 }
    }

    static func examples(_ document: String) throws -> MarkdownExamples {
        let text = try String(contentsOf: repositoryRoot.appendingPathComponent(document), encoding: .utf8)
        return try MarkdownExamples(path: document, text: text)
    }

    @Test(arguments: documents)
    func consoleExamplesPrintWhatTheyDocument(_ document: String) throws {
        let examples = try Self.examples(document)
        guard !examples.steps.isEmpty else { return }
        let session = try ExampleSession(repositoryRoot: Self.repositoryRoot)
        var replacements: [Int: [String]] = [:]
        for step in examples.steps {
            switch step {
            case .file(let path, let content):
                try session.workspace.write(path, content)
            case .console(let commands, let kind):
                let server = try kind.map { try ExampleSession.Server(kind: $0, at: "\(document):\((commands.first?.line ?? 0) + 1)") }
                for command in commands {
                    let actual = try session.run(command.text, server: server)
                    let edits = ExpectedOutput.align(command.expected, actual)
                    guard !ExpectedOutput.matches(edits) else { continue }
                    // Such a line would read back as a command or close the block.
                    if let line = actual.first(where: { $0.hasPrefix("$ ") || $0.hasPrefix("```") }) {
                        Issue.record("\(document):\(command.line + 1): `\(command.text)` prints '\(line)', which a console block cannot hold")
                    } else if Self.updating {
                        replacements[command.line] = ExpectedOutput.rewritten(edits)
                    } else {
                        Issue.record("""
                            \(document):\(command.line + 1): `\(command.text)` does not print what the document shows \
                            (- documented only, + real run only):
                            \(ExpectedOutput.difference(edits))
                            To take the real output into the docs: MLBUILD_UPDATE_DOCS=1 swift test --filter DocumentedExamples
                            """)
                    }
                }
            }
        }
        if !replacements.isEmpty {
            try examples.rewritten(replacements).write(to: Self.repositoryRoot.appendingPathComponent(document), atomically: true, encoding: .utf8)
        }
    }

    /// A `$ mlbuild` line outside a console block would be an example nobody checks.
    @Test(arguments: documents)
    func everyShownCommandIsInACheckedBlock(_ document: String) throws {
        let examples = try Self.examples(document)
        let checked = Set(examples.fences.filter { $0.language == "console" }.flatMap { fence in
            fence.lines.indices.map { fence.opening + 1 + $0 }
        })
        for (index, line) in examples.lines.enumerated() where line.trimmingCharacters(in: .whitespaces).hasPrefix("$ mlbuild") {
            #expect(checked.contains(index), "\(document):\(index + 1): `\(line.trimmingCharacters(in: .whitespaces))` is not in a ```console block")
        }
    }

    /// Blocks marked `excerpt=PATH` (the README's Mlfile) hold lines of PATH, in PATH's order;
    /// a line of `…` alone marks where lines were left out.
    @Test(arguments: documents)
    func excerptsAreLiteral(_ document: String) throws {
        for excerpt in try Self.examples(document).excerpts {
            let source = try String(contentsOf: Self.repositoryRoot.appendingPathComponent(excerpt.source), encoding: .utf8)
            if let (offset, line) = RepositoryFacts.firstLineNotInOrder(excerpt.fence.lines, of: source) {
                Issue.record("\(document):\(excerpt.fence.opening + 2 + offset): '\(line)' is not the next line of \(excerpt.source) (the block is marked excerpt=\(excerpt.source))")
            }
        }
        if document == "README.md" {
            #expect(try Self.examples(document).excerpts.map(\.source) == ["Mlfile.example"], "the README's Mlfile is marked excerpt=Mlfile.example")
        }
    }

    @Test func theReadmeListsThePackagesInstallDepsInstalls() throws {
        let script = try String(contentsOf: Self.repositoryRoot.appendingPathComponent("scripts/install-deps"), encoding: .utf8)
        let readme = try String(contentsOf: Self.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let installed = RepositoryFacts.installDepsPackages(script)
        #expect(!installed.base.isEmpty && !installed.tests.isEmpty, "scripts/install-deps: no packages=(…) and packages+=(…) lines found")
        #expect(RepositoryFacts.readmePackages(readme, row: "| building") == installed.base)
        #expect(RepositoryFacts.readmePackages(readme, row: "| the tests") == installed.tests)
        #expect(RepositoryFacts.readmePackages(readme, row: "| `bench/serve`") == installed.bench)
    }

    @Test func theReadmeListsTheTestTargetsThatExist() throws {
        let readme = try String(contentsOf: Self.repositoryRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let targets = try FileManager.default.contentsOfDirectory(atPath: Self.repositoryRoot.appendingPathComponent("Tests").path)
            .filter { $0.hasSuffix("Tests") }
        #expect(!targets.isEmpty)
        #expect(RepositoryFacts.readmeTestTargets(readme) == Set(targets))
    }
}
