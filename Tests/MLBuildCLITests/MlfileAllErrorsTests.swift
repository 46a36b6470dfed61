import Foundation
import MLBuildTestSupport
import Testing

/// docs/mlfile.md: "all problems in the file are reported at once, and nothing is built. Exit
/// code 2." Through the real binary: the exact error output, the exit code, and no trace on disk.
@Suite("Mlfile errors: all at once, nothing built")
struct MlfileAllErrorsTests {
    /// Every file below the workspace, except the Mlfile (sorted, workspace-relative).
    static func files(in ws: MLBuildWorkspace) -> [String] {
        let root = URL(fileURLWithPath: ws.path)
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)
        var out: [String] = []
        while let url = enumerator?.nextObject() as? URL {
            let relative = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            if relative != "Mlfile" { out.append(relative) }
        }
        return out.sorted()
    }

    @Test func anUnknownKeyAndAnUnknownVariableAreBothReported() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task a
            outptus = a.txt
            run = echo ${nope}
        """)
        let run = try ws.run([])
        #expect(run.status == 2)
        #expect(run.stdout == "")
        #expect(run.stderr == """
        Mlfile:2:5: error: unknown key 'outptus' for task targets (did you mean 'outputs'?)
                outptus = a.txt
                ^
          note: task accepts: description, env, exec_properties, execution, inputs, outputs, run, seed, timeout
        Mlfile:3:16: error: unknown variable 'nope'
                run = echo ${nope}
                           ^
          note: write $${nope} for a literal '${nope}' (a shell variable)

        """)
        #expect(Self.files(in: ws) == [])
    }

    @Test func aContainersUnknownKeyHidesNoneOfItsBadValues() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task a
            outputs = a.txt
            run = echo a > a.txt

        container app: task:a
            entrypiont = /bin/a
            platform = linux
            exposed_ports = 80, 70000
        """)
        let run = try ws.run(["container:app"])
        #expect(run.status == 2)
        let headlines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("Mlfile:") }
        #expect(headlines == [
            "Mlfile:6:5: error: unknown key 'entrypiont' for container targets (did you mean 'entrypoint'?)",
            "Mlfile:7:16: error: invalid platform 'linux': expected os/arch or os/arch/variant",
            "Mlfile:8:25: error: exposed port '70000' must be PORT or PORT/tcp|udp|sctp with PORT in 1...65535",
        ])
        #expect(Self.files(in: ws) == [], "task:a is valid, but nothing runs while the Mlfile has errors")
    }

    /// Errors in some targets build none of the others: no output, no build/ directory, no
    /// state, no cache entry; every command that reads the Mlfile exits 2 with the same report.
    @Test func anMlfileWithErrorsBuildsNothingAndWritesNothing() throws {
        let ws = try MLBuildWorkspace(mlfile: """
        task ok
            outputs = ok.txt
            run = echo ok > ok.txt
        dataset rows
            source = data/rows.csv
            schema = id: string id, amount: integer
        task bad: task:ok
            outputs = bad.txt
            run = echo ${nope} > bad.txt
        """)
        try ws.write("data/rows.csv", "id,amount\nA,1\n")
        let expected = [
            "Mlfile:6:37: error: schema column 2 'amount: integer': unknown type 'integer' (expected int, float, bool, string or category(...))",
            "Mlfile:9:16: error: unknown variable 'nope'",
        ]
        for arguments in [[], ["task:ok"], ["-k", "task:ok", "dataset:rows"], ["-n"], ["status"], ["graph"]] {
            let run = try ws.run(arguments)
            #expect(run.status == 2, "mlbuild \(arguments)")
            #expect(run.stderr.split(separator: "\n").filter { $0.hasPrefix("Mlfile:") }.map(String.init) == expected, "mlbuild \(arguments)")
        }
        #expect(Self.files(in: ws) == ["data", "data/rows.csv"])
        #expect(!FileManager.default.fileExists(atPath: ws.cacheDirectory), "no cache entries")
    }
}
