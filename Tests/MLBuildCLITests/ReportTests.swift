import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import MLBuildCore
import MLBuildTestSupport
import Testing

/// `mlbuild report`: the page's content (sections, metrics equal to metrics.json, the comparison
/// with the previous run, every plot inlined byte for byte), that it references nothing outside
/// itself, that it is deterministic, that Chromium renders it, and its errors and warnings.
@Suite struct ReportTests {
    /// dataset:rows → features:rows → model:lr and model:gbt, built twice (l2 1.0, then 0.1), so
    /// that the history has two runs with different metrics for model:lr.
    static func twoRuns() throws -> (ws: MLBuildWorkspace, before: MLFixtures.MetricsFile) {
        let ws = try MLFixtures.workspace(mlfile: MLFixtures.mlfile(l2: "1.0"))
        let first = try ws.run([])
        #expect(first.status == 0, "\(first.output)")
        let before = try MLFixtures.metrics(ws, model: "lr")
        try ws.write("Mlfile", MLFixtures.mlfile(l2: "0.1"))
        let second = try ws.run([])
        #expect(second.status == 0, "\(second.output)")
        return (ws, before)
    }

    static let targets = ["dataset:rows", "features:rows", "model:lr", "model:gbt"]

    /// The text of the `<section>` with `id`, up to its end.
    static func section(_ html: String, id: String) throws -> String {
        let start = try #require(html.range(of: "<section class=\"target\" id=\"\(id)\">"), "no section \(id)")
        let end = try #require(html.range(of: "</section>", range: start.upperBound ..< html.endIndex))
        return String(html[start.lowerBound ..< end.upperBound])
    }

    /// Every `<svg …>…</svg>` element of the page, in order.
    static func svgElements(_ html: String) -> [String] {
        var out: [String] = []
        var rest = html[...]
        while let start = rest.range(of: "<svg"), let end = rest.range(of: "</svg>", range: start.upperBound ..< rest.endIndex) {
            out.append(String(rest[start.lowerBound ..< end.upperBound]))
            rest = rest[end.upperBound...]
        }
        return out
    }

    /// The page holds nothing that would load another file or reach a host.
    static func expectSelfContained(_ html: String) {
        let lowered = html.lowercased()
        for forbidden in ["http://", "https://", "src=", "<link", "<script", "@import", "<iframe", "<object", "<embed", "<img", "javascript:"] {
            #expect(!lowered.contains(forbidden), "the page contains \(forbidden)")
        }
        #expect(lowered.replacingOccurrences(of: "url(#", with: "").range(of: "url(") == nil, "the page has a url( reference")
        // The only links are to sections of the page itself.
        var rest = html[...]
        while let match = rest.range(of: "href=\"") {
            #expect(rest[match.upperBound...].hasPrefix("#"), "a link out of the page: \(rest[match.lowerBound...].prefix(60))")
            rest = rest[match.upperBound...]
        }
        #expect(html.components(separatedBy: "<style>").count == 2, "one <style> element")
    }

    /// An inlined drawing parses as XML.
    static func expectWellFormed(_ svg: String, _ name: String) {
        let parser = XMLParser(data: Data(svg.utf8))
        #expect(parser.parse(), "\(name) is not well-formed XML: \(parser.parserError.map { "\($0)" } ?? "?")\n\(svg.prefix(200))")
    }

    static func plotNames(_ ws: MLBuildWorkspace, model: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "\(ws.path)/build/model/\(model)/plots")
            .filter { $0.hasSuffix(".svg") }.sorted().map { String($0.dropLast(4)) }
    }

    @Test func thePageShowsEveryTargetTheMetricsTheComparisonAndEveryPlot() throws {
        let (ws, before) = try Self.twoRuns()
        let report = try ws.run(["report", "-o", "report.html"])
        #expect(report.status == 0, "\(report.output)")
        #expect(report.stderr == "wrote report.html (4 targets)\n")
        #expect(report.stdout.isEmpty)
        let html = try ws.read("report.html")
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\">\n"))
        #expect(html.hasSuffix("</body>\n</html>\n"))

        // Header: the Mlfile and the run the page reflects.
        #expect(html.contains("<tr><th>Mlfile</th><td>Mlfile</td></tr>"))
        #expect(html.contains("<tr><th>Latest run</th><td>run:2, started "))
        #expect(html.contains("<tr><th>Targets</th><td>4 (4 up to date, 0 stale, 0 not built)</td></tr>"))
        for (i, target) in Self.targets.enumerated() {
            let id = "t\(i + 1)-" + target.replacingOccurrences(of: ":", with: "-")
            #expect(html.contains("<a href=\"#\(id)\">\(target)</a> — up to date"), "contents entry of \(target)")
            let section = try Self.section(html, id: id)
            #expect(section.contains("<h2>\(target)</h2><p>Status: <strong>up to date</strong>"), "\(target)")
        }
        // The graph: one box per target, an edge per dependency.
        let graph = try #require(Self.svgElements(html).first)
        for target in Self.targets { #expect(graph.contains(">\(target)</text>"), "\(target) in the graph") }
        #expect(graph.components(separatedBy: "<path ").count - 1 == 3)

        // The dataset: schema, row count, a chart per column.
        let dataset = try Self.section(html, id: "t1-dataset-rows")
        #expect(dataset.contains("<tr><td>amount</td><td>float</td><td>min=0</td></tr>"))
        #expect(dataset.contains("<tr><td>plan</td><td>category(basic, plus, pro)</td><td></td></tr>"))
        #expect(dataset.contains("<p>400 rows, 6 columns; "))
        #expect(dataset.contains("<figcaption>amount: histogram of 400 values</figcaption>"))
        #expect(dataset.contains("<figcaption>plan: rows per value</figcaption>"))
        #expect(try Self.section(html, id: "t2-features-rows").contains("features: amount, plan=basic, plan=plus, plan=pro, score, active"))

        // Each model: every metric of metrics.json with its value, gates, plots, lineage.
        for (index, model) in [(3, "lr"), (4, "gbt")] {
            let section = try Self.section(html, id: "t\(index)-model-\(model)")
            let file = try MLFixtures.metrics(ws, model: model)
            for (name, value) in file.metrics {
                guard let number = value.number else { continue }
                #expect(section.contains("<tr data-metric=\"\(name)\"><td>\(name)</td><td class=\"num\">\(RunHistoryTests.number(number))</td></tr>"),
                        "model:\(model) \(name)")
            }
            #expect(section.contains("<tr data-metric=\"confusion_matrix\"><td>confusion_matrix</td><td class=\"num\">[["))
            for plot in try Self.plotNames(ws, model: model) {
                let file = try ws.read("build/model/\(model)/plots/\(plot).svg")
                let start = try #require(section.range(of: "<figure data-plot=\"\(plot)\">"), "model:\(model) plot \(plot)")
                let svg = try #require(Self.svgElements(String(section[start.upperBound...])).first)
                // Inlined as drawn: the file minus its XML prolog and namespace URL.
                let expected = file.replacingOccurrences(of: "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", with: "")
                    .replacingOccurrences(of: " xmlns=\"http://www.w3.org/2000/svg\"", with: "")
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(svg == expected, "model:\(model) plot \(plot) inlined differently")
                #expect(svg.contains("<polyline") || svg.contains("<rect x=\"") && svg.components(separatedBy: "<rect").count > 3)
            }
            #expect(section.contains("<tr><th>Lineage</th><th>Value</th></tr>"))
            #expect(section.contains("<tr><td>seed</td><td>7</td></tr>"))
        }
        let lr = try Self.section(html, id: "t3-model-lr")
        #expect(lr.contains("<td>auc &gt;= 0.7</td>"))
        #expect(lr.contains("<td class=\"pass\">pass</td>"))
        #expect(lr.contains("<tr><td>l2</td><td>0.1</td></tr>"))

        // Compared with the previous run: run 1's values (l2 = 1.0) against the current ones.
        let after = try MLFixtures.metrics(ws, model: "lr")
        #expect(lr.contains("<th>Metric</th><th>Old (run:1)</th><th>New (current)</th><th>Change</th>"))
        for name in ["auc", "accuracy", "log_loss"] {
            let old = try #require(before.metrics[name]?.number), new = try #require(after.metrics[name]?.number)
            var change = RunHistoryTests.number(new - old)
            if new - old > 0, change != "0" { change = "+" + change }
            #expect(lr.contains("<tr data-metric=\"\(name)\"><td>\(name)</td><td class=\"num\">\(RunHistoryTests.number(old))</td>"
                + "<td class=\"num\">\(RunHistoryTests.number(new))</td><td class=\"num\">\(change)</td></tr>"), "\(name)")
        }
        #expect(before.metrics["log_loss"]?.number != after.metrics["log_loss"]?.number)
        // model:gbt's metrics did not change between the runs.
        #expect(try Self.section(html, id: "t4-model-gbt").contains("<p class=\"muted\">no previous run with different metrics</p>"))

        Self.expectSelfContained(html)
        let drawings = Self.svgElements(html)
        #expect(drawings.count == 1 + 5 + 5 + 5)  // graph, a chart per dataset column but the id, each model's plots
        for (i, svg) in drawings.enumerated() { Self.expectWellFormed(svg, "drawing \(i + 1)") }

        // The same workspace and history: the same bytes.
        let again = try ws.run(["report", "-o", "again.html"])
        #expect(again.status == 0, "\(again.output)")
        #expect(try ws.read("again.html") == html)
        let stdout = try ws.run(["report", "-o", "-"])
        #expect(stdout.status == 0 && stdout.stdout == html)
    }

    @Test func aRegressionModelShowsItsMetricsAndScatterPlots() throws {
        let ws = try MLBuildWorkspace(mlfile: ModelPlotsTests.regressionMlfile)
        try ws.write("data/rows.csv", MLFixtures.csv(rows: 400))
        let build = try ws.run(["model:line"])
        #expect(build.status == 0, "\(build.output)")
        let report = try ws.run(["report", "model:line", "-o", "line.html"])
        #expect(report.status == 0, "\(report.output)")
        #expect(report.stderr == "wrote line.html (3 targets)\n")
        let html = try ws.read("line.html")
        let section = try Self.section(html, id: "t3-model-line")
        let file = try MLFixtures.metrics(ws, model: "line")
        for name in ["rmse", "mae", "r2"] {
            let value = try #require(file.metrics[name]?.number)
            #expect(section.contains("<tr data-metric=\"\(name)\"><td>\(name)</td><td class=\"num\">\(RunHistoryTests.number(value))</td></tr>"))
        }
        let plots = try Self.plotNames(ws, model: "line")
        #expect(plots == ["feature_importance", "predicted_vs_actual", "residuals", "residuals_histogram"])
        for plot in plots {
            let start = try #require(section.range(of: "<figure data-plot=\"\(plot)\">"), "\(plot)")
            let svg = try #require(Self.svgElements(String(section[start.upperBound...])).first)
            Self.expectWellFormed(svg, plot)
            let marks = plot.hasPrefix("residuals_") || plot == "feature_importance" ? "<rect " : "<circle "
            #expect(svg.components(separatedBy: marks).count > 5, "\(plot) has no data marks")
        }
        // Only one run: nothing to compare with yet.
        #expect(section.contains("<p class=\"muted\">no previous run with different metrics</p>"))
        Self.expectSelfContained(html)
    }

    @Test func theHeaderNamesTheGitCommitAndWhetherTrackedFilesChanged() throws {
        let ws = try Fixtures.diamondWorkspace()
        let env: [String: String?] = ["GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@e"]
        try ws.write(".gitignore", "out/\ncache/\n.mlbuild/\n*.html\n")
        let commit = try ProcessRunner.shell("git init -q && git add -A && git commit -q -m one && git rev-parse HEAD", in: ws.path, environment: env)
        #expect(commit.status == 0, "\(commit.output)")
        let head = commit.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try ws.run([]).status == 0)
        #expect(try ws.run(["report"]).status == 0)
        let clean = try ws.read("report.html")
        #expect(clean.contains("<tr><th>Git revision</th><td>\(head) (clean)</td></tr>"))
        #expect(clean.contains("<tr><th>Latest run</th><td>run:1, started "))
        #expect(clean.contains(", exit 0, git \(head.prefix(7)) — mlbuild</td></tr>"))
        // The graph: d needs b and c, b needs a.
        let graph = try #require(Self.svgElements(clean).first)
        #expect(graph.components(separatedBy: "<path ").count - 1 == 3)

        try ws.write("src/a.txt", "changed\n")
        #expect(try ws.run(["report"]).status == 0)
        let dirty = try ws.read("report.html")
        #expect(dirty.contains("<tr><th>Git revision</th><td>\(head) (dirty: tracked files changed)</td></tr>"))
        // task:a's input changed: a and what needs it are stale, c is not.
        #expect(dirty.contains("<tr><th>Targets</th><td>4 (1 up to date, 3 stale, 0 not built)</td></tr>"))
        #expect(dirty.contains("<a href=\"#t3-task-c\">task:c</a> — up to date"))
    }

    @Test func onlyTheNamedTargetsAndWhatTheyNeed() throws {
        let ws = try MLFixtures.workspace()
        #expect(try ws.run(["model:gbt"]).status == 0)
        let report = try ws.run(["report", "model:gbt", "-o", "gbt.html"])
        #expect(report.status == 0, "\(report.output)")
        #expect(report.stderr == "wrote gbt.html (3 targets)\n")
        let html = try ws.read("gbt.html")
        #expect(html.contains("id=\"t3-model-gbt\""))
        #expect(!html.contains("model:lr"))
    }

    @Test func chromiumRendersThePageWithEveryPlot() throws {
        _ = try HeadlessChromium.executable()
        let ws = try MLFixtures.workspace()
        #expect(try ws.run([]).status == 0)
        let report = try ws.run(["report", "-o", "report.html"])
        #expect(report.status == 0, "\(report.output)")
        let page = "\(ws.path)/report.html"

        let shot = try HeadlessChromium.screenshot(page, to: "\(ws.path)/report.png", width: 1280, height: 2400)
        #expect(shot.status == 0, "chromium: \(shot.output.suffix(2000))")
        let image = try PNGImage(data: try Data(contentsOf: URL(fileURLWithPath: "\(ws.path)/report.png")))
        #expect(image.width == 1280 && image.height == 2400)
        #expect(image.nonWhiteFraction > 0.03, "the screenshot is (nearly) blank: \(image.nonWhiteFraction)")
        #expect(image.colorCount > 20)

        let dom = try HeadlessChromium.dumpDOM(page)
        #expect(dom.status == 0, "chromium: \(dom.stderr.suffix(2000))")
        for model in ["lr", "gbt"] {
            for plot in try Self.plotNames(ws, model: model) {
                let section = try Self.section(dom.stdout, id: model == "lr" ? "t3-model-lr" : "t4-model-gbt")
                let start = try #require(section.range(of: "<figure data-plot=\"\(plot)\">"), "model:\(model) \(plot) not in the DOM")
                let svg = try #require(Self.svgElements(String(section[start.upperBound...])).first)
                #expect(svg.hasPrefix("<svg width=\"640\" height=\"480\""))
                // The white background plus at least one mark of data, and text (title, ticks).
                let marks = ["<polyline points=\"", "<path ", "<rect ", "<circle "].map { svg.components(separatedBy: $0).count - 1 }.reduce(0, +)
                #expect(marks >= 2, "model:\(model) \(plot) renders without marks")
                #expect(svg.components(separatedBy: "<text ").count > 3, "model:\(model) \(plot) renders without text")
            }
        }
    }

    @Test func anUnknownTargetIsABadCommandLine() throws {
        let ws = try MLFixtures.workspace()
        let report = try ws.run(["report", "model:nope"])
        #expect(report.status == 2)
        #expect(report.stderr.contains("model:nope"), "\(report.stderr)")
        #expect(!ws.exists("report.html"))
    }

    @Test func beforeAnyBuildEveryTargetIsNotBuilt() throws {
        let ws = try MLFixtures.workspace()
        let report = try ws.run(["report"])
        #expect(report.status == 0, "\(report.output)")
        #expect(report.stderr == "wrote report.html (4 targets)\n")
        let html = try ws.read("report.html")
        #expect(html.contains("<tr><th>Latest run</th><td>no run history</td></tr>"))
        #expect(html.contains("<tr><th>Targets</th><td>4 (0 up to date, 0 stale, 4 not built)</td></tr>"))
        for (i, target) in Self.targets.enumerated() {
            let section = try Self.section(html, id: "t\(i + 1)-" + target.replacingOccurrences(of: ":", with: "-"))
            #expect(section.contains("<strong>not built</strong>"))
            #expect(section.contains("not built: run `mlbuild \(target)` to build it."))
            #expect(!section.contains("warning"))
        }
        #expect(Self.svgElements(html).count == 1)
        Self.expectSelfContained(html)
    }

    @Test func aCorruptMetricsFileIsAWarningAndThePageIsWritten() throws {
        let ws = try MLFixtures.workspace()
        #expect(try ws.run([]).status == 0)
        try ws.write("build/model/lr/metrics.json", "{\"metrics\": [1, 2")
        let report = try ws.run(["report", "-o", "report.html"])
        #expect(report.status == 0, "\(report.output)")
        #expect(report.stderr.hasPrefix("warning: build/model/lr/metrics.json: not a valid file ("), "\(report.stderr)")
        #expect(report.stderr.hasSuffix("wrote report.html (4 targets, 1 warning)\n"))
        let html = try ws.read("report.html")
        let lr = try Self.section(html, id: "t3-model-lr")
        #expect(lr.contains("<p class=\"warning\">warning: build/model/lr/metrics.json: not a valid file ("))
        #expect(lr.contains("<figure data-plot=\"roc\">"))
        #expect(try Self.section(html, id: "t4-model-gbt").contains("<tr data-metric=\"auc\">"))
    }

    @Test func anEditedPlotWithAScriptOrALinkIsLeftOut() throws {
        let ws = try MLFixtures.workspace()
        #expect(try ws.run(["model:lr"]).status == 0)
        let roc = try ws.read("build/model/lr/plots/roc.svg")
        try ws.write("build/model/lr/plots/roc.svg", roc.replacingOccurrences(of: "</svg>", with: "<script>alert(1)</script></svg>"))
        let calibration = try ws.read("build/model/lr/plots/calibration.svg")
        try ws.write("build/model/lr/plots/calibration.svg",
                     calibration.replacingOccurrences(of: "</svg>", with: "<image href=\"https://example.com/x.png\"/></svg>"))
        let report = try ws.run(["report", "-o", "report.html"])
        #expect(report.status == 0, "\(report.output)")
        #expect(report.stderr == """
            warning: build/model/lr/plots/calibration.svg: not a self-contained SVG drawing; left out of the page
            warning: build/model/lr/plots/roc.svg: not a self-contained SVG drawing; left out of the page
            wrote report.html (4 targets, 2 warnings)

            """)
        let html = try ws.read("report.html")
        Self.expectSelfContained(html)
        #expect(try Self.section(html, id: "t3-model-lr").contains("<figure data-plot=\"precision_recall\"><svg "))
    }

    @Test func aCorruptHistoryIsAWarning() throws {
        let ws = try MLFixtures.workspace()
        #expect(try ws.run(["model:lr"]).status == 0)
        // The whole database damaged: its file and its write-ahead log (which holds the newest pages).
        for suffix in ["-wal", "-shm"] { try? FileManager.default.removeItem(atPath: "\(ws.path)/.mlbuild/history.sqlite\(suffix)") }
        try ws.write(".mlbuild/history.sqlite", String(repeating: "this is not a database\n", count: 200))
        let report = try ws.run(["report", "-o", "report.html"])
        #expect(report.status == 0, "\(report.output)")
        #expect(report.stderr.hasPrefix("warning: cannot read the run history .mlbuild/history.sqlite: "), "\(report.stderr)")
        #expect(try ws.read("report.html").contains("<p class=\"muted\">no previous run (no run history)</p>"))
    }

    @Test func secretsAndMarkupFromTheMlfileAreNeverWrittenAsIs() throws {
        let secret = "Tok3n-Very-Secret-9817"
        let ws = try MLBuildWorkspace(mlfile: """
        task call
            description = <b>calls</b> https://example.com & more
            outputs = out.txt
            run = echo "${secret:API_TOKEN}" | wc -c > out.txt
        """)
        #expect(try ws.run([], environment: ["API_TOKEN": secret]).status == 0)
        let report = try ws.run(["report"], environment: ["API_TOKEN": secret])
        #expect(report.status == 0, "\(report.output)")
        let html = try ws.read("report.html")
        #expect(!html.contains(secret))
        #expect(html.contains("<tr><td>run</td><td>&lt;secret&gt;</td></tr>"))
        #expect(html.contains("<h2>task:call</h2><p class=\"description\">&lt;b&gt;calls&lt;/b&gt; https:/&#47;example.com &amp; more</p>"))
        let digest = try ws.directory.data("out.txt")
        #expect(html.contains("<tr><td>out.txt</td><td>sha256:\(ContentDigest.of(digest).hex)</td><td>\(digest.count) bytes</td></tr>"))
        Self.expectSelfContained(html)
    }
}
