import MLBuildCore
import Testing

@Suite("Mlfile parsing and resolution")
struct MlfileParserTests {
    func load(_ text: String, environment: [String: String] = [:]) throws -> Mlfile {
        try Mlfile.load(path: "Mlfile", text: text, environment: environment)
    }

    func errors(_ text: String, environment: [String: String] = [:]) -> [String] {
        do {
            return try load(text, environment: environment).diagnostics.map(\.rendered)
        } catch let list as DiagnosticList {
            return list.diagnostics.map(\.rendered)
        } catch let d as Diagnostic {
            return [d.rendered]
        } catch {
            return ["\(error)"]
        }
    }

    @Test func headersSettingsVariablesAndContinuations() throws {
        let mlfile = try load("""
        # comment
        seed = 42          # trailing comment
        default = task:report
        data = data/raw

        task clean_rows: task:fetch, task:other
            inputs = ${data}/rows.csv, scripts/clean.py
            run = python3 scripts/clean.py
                  ${data}/rows.csv work/clean.csv
            env = LANG, TZ
        task fetch
            run = true
        """)
        #expect(mlfile.seed == 42)
        #expect(mlfile.defaultTargets.map(\.reference.description) == ["task:report"])
        #expect(mlfile.variableNames == ["data"])
        let target = try #require(mlfile.targets.first)
        #expect(target.reference.description == "task:clean_rows")
        #expect(target.dependencies.map(\.reference.description) == ["task:fetch", "task:other"])
        #expect(try target.values["inputs"]?.listItems().map(\.text) == ["data/raw/rows.csv", "scripts/clean.py"])
        #expect(try target.values["run"]?.scalarValue() == "python3 scripts/clean.py data/raw/rows.csv work/clean.csv")
        #expect(target.keyOrder == ["inputs", "run", "env"])
        let env = try #require(target.values["env"])
        #expect(try env.listItems().map(\.location.column) == [11, 17])
    }

    @Test func quotingEscapesAndParenthesesInLists() throws {
        let mlfile = try load("""
        task a
            run = "echo \\"a # not a comment\\" \\$HOME"
            cols = "x, y", category(a, b), z # comment
            raw = echo 'single # kept' done
        """)
        let target = try #require(mlfile.targets.first)
        #expect(try target.values["run"]?.scalarValue() == "echo \"a # not a comment\" $HOME")
        #expect(try target.values["cols"]?.listItems().map(\.text) == ["x, y", "category(a, b)", "z"])
        #expect(try target.values["raw"]?.scalarValue() == "echo 'single # kept' done")
    }

    @Test func environmentSecretsAndDollarEscapes() throws {
        let mlfile = try load("""
        task a
            run = echo ${env:USER_NAME} ${env:MISSING:-fallback} $$HOME $${HOME} ${secret:TOKEN}
        """, environment: ["USER_NAME": "ada"])
        let value = try #require(mlfile.targets.first?.values["run"])
        let text = value.text
        #expect(text.hasPrefix("echo ada fallback $HOME ${HOME} "))
        #expect(text.hasSuffix("\u{E000}TOKEN\u{E001}"))
        #expect(!text.contains("secret"))
    }

    @Test func errorsCarryLocationCaretAndSuggestions() {
        let unknownVariable = errors("""
        data = x
        task a
            run = echo ${dta}
        """)
        #expect(unknownVariable.first?.hasPrefix("Mlfile:3:16: error: unknown variable 'dta' (did you mean 'data'?)\n        run = echo ${dta}\n                   ^") == true)
        #expect(errors("task a\n    run = ${env:NOPE}").first?.contains("environment variable 'NOPE' is not set") == true)
        #expect(errors("a = ${b}\nb = ${a}").first?.contains("variable cycle: a -> b -> a") == true)
        #expect(errors("seed = abc").first?.contains("seed must be a non-negative integer, not 'abc'") == true)
        #expect(errors("  indented = 1").first?.contains("Mlfile:1:3: error: unexpected indented line") == true)
        #expect(errors("task a\n    run = ${oops").first?.contains("unterminated '${'") == true)
        #expect(errors("task a\n    run = x\n    run = y").first?.contains("Mlfile:3:5: error: key 'run' is set twice in task:a") == true)
        #expect(errors("task a\n      run = x\n    env = y").first?.contains("inconsistent indentation") == true)
        #expect(errors("task:a").first?.contains("expected a setting 'NAME = value' or a target header") == true)
        #expect(errors("task\n").first?.contains("error:") == true)
    }

    @Test func severalErrorsAreCollected() {
        #expect(errors("""
        task a: x
        task b: y
        """).count == 2)
    }

    @Test func syntaxAndSubstitutionErrorsAreReportedTogether() {
        let text = """
          stray = 1
            more = 2
        task a
            run = echo ${nope}
            run echo
                continued
          env = X=${env:UNSET}
        task:b
            run = true
        """
        let located = (try? load(text).diagnostics.map { "\($0.location?.line ?? 0):\($0.location?.column ?? 0): \($0.message)" }) ?? []
        #expect(located == [
            "1:3: unexpected indented line (a body line must follow a target header)",
            "5:9: expected 'key = value' in a target body",
            "7:3: inconsistent indentation: body lines of task:a start in column 5",
            "8:5: expected a setting 'NAME = value' or a target header 'KIND NAME: DEPENDENCIES' (a target header is 'KIND NAME: DEPENDENCIES', e.g. 'task clean: task:fetch')",
            "4:16: unknown variable 'nope'",
            "7:11: environment variable 'UNSET' is not set",
        ])
        // The line read despite its indentation is a body line; the one that could not be read
        // leaves the target incomplete (so no key is taken for missing).
        let target = try? load(text).targets.first
        #expect(target?.keyOrder == ["run", "env"])
        #expect(target?.isIncomplete == true)
    }

    @Test func columnsCountBytesAndTheCaretCountsCharacters() {
        let rendered = errors("task a\n    run = é ${nope}")
        // Twelve characters (thirteen bytes) before the `$`.
        #expect(rendered == ["Mlfile:2:14: error: unknown variable 'nope'\n        run = é ${nope}\n    " + String(repeating: " ", count: 12)
            + "^\n  note: write $${nope} for a literal '${nope}' (a shell variable)"])
    }

    @Test func aPlaceInsideAnItemMapsToWhereItWasWritten() throws {
        let mlfile = try load("""
        v = xyz
        task a
            gate = "a \\" b", c ${v} d,
                e f
        """)
        let value = try #require(mlfile.targets.first?.values["gate"])
        let items = try value.listItems()
        #expect(items.map(\.text) == ["a \" b", "c xyz d", "e f"])
        // Inside quotes, past an escape: `b` is at column 18.
        #expect(items[0].location(atCharacterOffset: 4).column == 18)
        // Text from `${v}` is at its `$`; what follows is where it was written.
        #expect(items[1].location(atCharacterOffset: 3) == SourceLocation(file: "Mlfile", line: 3, column: 24))
        #expect(items[1].location(atCharacterOffset: 6) == SourceLocation(file: "Mlfile", line: 3, column: 29))
        // On the continuation line, and just after the end of the item.
        #expect(items[2].location(atCharacterOffset: 2) == SourceLocation(file: "Mlfile", line: 4, column: 11))
        #expect(items[2].location(atCharacterOffset: 3) == SourceLocation(file: "Mlfile", line: 4, column: 12))
        // The whole value's text, as a parser of it (schema text) counts.
        #expect(value.location(atCharacterOffset: 100) == SourceLocation(file: "Mlfile", line: 4, column: 12))
    }

    @Test func crlfAndTabsAreAccepted() throws {
        let mlfile = try load("task a\r\n\trun = true\r\n\toutputs = x,\r\n\t\ty\r\n")
        #expect(try mlfile.targets.first?.values["outputs"]?.listItems().map(\.text) == ["x", "y"])
    }
}
