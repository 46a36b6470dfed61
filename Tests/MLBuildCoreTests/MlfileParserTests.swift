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

    @Test func crlfAndTabsAreAccepted() throws {
        let mlfile = try load("task a\r\n\trun = true\r\n\toutputs = x,\r\n\t\ty\r\n")
        #expect(try mlfile.targets.first?.values["outputs"]?.listItems().map(\.text) == ["x", "y"])
    }
}
