import Foundation

/// Debian's `chromium` run headless for tests that look at a rendered page: a screenshot (PNG)
/// or the DOM after parsing. Each run gets its own temporary profile (`--user-data-dir`) and
/// runs under `timeout(1)`, which puts itself and Chromium's processes in one process group and
/// kills that group (TERM, then KILL 10 s later) if the run hangs.
public enum HeadlessChromium {
    public struct Missing: Error, CustomStringConvertible {
        public var description: String {
            "chromium is not installed: the report tests render the page with it (install it with scripts/install-deps --tests, Debian package `chromium`)"
        }
    }

    /// The browser on PATH (`chromium`, else `chromium-browser`); throws `Missing` when neither is.
    public static func executable() throws -> String {
        guard let path = ProcessRunner.which("chromium") ?? ProcessRunner.which("chromium-browser") else { throw Missing() }
        return path
    }

    static func run(_ arguments: [String], seconds: Int) throws -> ProcessResult {
        let browser = try executable()
        let profile = try TemporaryDirectory(prefix: "mlbuild-chromium")
        let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--no-default-browser-check", "--disable-background-networking", "--disable-extensions",
                     "--user-data-dir=\(profile.path)"]
        return try withExtendedLifetime(profile) {
            try ProcessRunner.run("/usr/bin/timeout", ["-k", "10", String(seconds), browser] + flags + arguments,
                                  environment: ["HOME": profile.path])
        }
    }

    /// Renders `file` (a local path) into a `width`×`height` PNG at `png`.
    @discardableResult
    public static func screenshot(_ file: String, to png: String, width: Int, height: Int, seconds: Int = 180) throws -> ProcessResult {
        try run(["--hide-scrollbars", "--window-size=\(width),\(height)", "--screenshot=\(png)", URL(fileURLWithPath: file).absoluteString],
                seconds: seconds)
    }

    /// The DOM of `file` after Chromium parsed it (serialized HTML, on stdout).
    public static func dumpDOM(_ file: String, seconds: Int = 180) throws -> ProcessResult {
        try run(["--dump-dom", URL(fileURLWithPath: file).absoluteString], seconds: seconds)
    }
}
