import MLBuildCore
import MLBuildEngine
import Testing

/// Inputs found by listing directories, and outputs that are links or lie below one.
@Suite struct OutputPathTests {
    @Test func fileAddedToAGlobbedDirectoryRebuildsTheTarget() async throws {
        let engine = EngineHarness("""
            fake all
                inputs = src/*.txt
                outputs = out/all.txt

            """)
        engine.disk.write("src/1.txt", "one\n")
        _ = try await engine.build()
        #expect(try await engine.build().ran.isEmpty)
        engine.disk.write("src/2.txt", "two\n")
        let built = try await engine.build()
        #expect(built.ran == ["fake:all"])
        #expect(built.explained["fake:all"] == RunReason(.inputChanged("src/2.txt")))
        #expect(engine.disk.contents("out/all.txt") == "one\ntwo\n")
    }

    @Test func outputLinkIsRestoredAsALink() async throws {
        let engine = EngineHarness("""
            fake data
                outputs = out/data.txt

            fake current
                run = link:data.txt
                outputs = out/current

            """)
        _ = try await engine.build()
        #expect(engine.disk.contents("out/current") == "fake:data\n")
        try engine.disk.removeTree("out")
        let built = try await engine.build()
        #expect(built.ran.isEmpty)
        #expect(built.statuses == ["fake:data: restored", "fake:current: restored"])
        #expect(try engine.disk.readLink("out/current") == "data.txt")
    }

    @Test func outputLinkLeavingTheWorkspaceFailsTheTarget() async throws {
        let engine = EngineHarness("""
            fake escape
                run = link:../../etc/passwd
                outputs = out/escape

            """)
        let built = try await engine.build()
        #expect(built.status("fake:escape") == .failed)
        #expect(built.outcome("fake:escape")?.message
            == "output 'out/escape' of fake:escape is a symbolic link that leaves the workspace ('../../etc/passwd')")
        #expect(!engine.disk.exists("out/escape"))
        #expect(engine.actionCacheEntries().isEmpty)
    }

    @Test func outputBelowASymlinkedDirectoryIsNeverWritten() async throws {
        let engine = EngineHarness("""
            fake a
                outputs = out/a.txt

            """)
        try engine.disk.createDirectories("/elsewhere")
        try engine.disk.createSymbolicLink(at: "out", target: "/elsewhere")
        let built = try await engine.build()
        #expect(built.status("fake:a") == .failed)
        #expect(built.outcome("fake:a")?.message
            == "output 'out/a.txt': 'out' is a symbolic link to '/elsewhere', and mlbuild never writes or removes through one")
        #expect(built.ran.isEmpty)
        #expect(engine.disk.files(under: "/elsewhere").isEmpty)
    }
}
