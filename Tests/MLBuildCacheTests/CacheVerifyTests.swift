import Foundation
import MLBuildCache
import MLBuildCore
import MLBuildTestSupport
import Testing

/// `cache verify` and temp files: a build killed between writing an action result's temp file
/// and renaming it leaves `ac/xx/.tmp-…`; that is neither an entry nor malformed.
struct CacheVerifyTests {
    /// The id of a process that has exited (and been reaped), so no process has it for now.
    static func goneProcess() throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/true")
        try process.run()
        process.waitUntilExit()
        return process.processIdentifier
    }

    @Test func verifyLeavesALiveWritersTempFileAloneAndSweepsADeadOnes() throws {
        let directory = try TemporaryDirectory()
        let layout = CacheLayout(root: directory.path)
        let shard = "\(layout.acDirectory)/ab"
        try FileSystem.createDirectories(shard)
        let live = "\(shard)/.tmp-\(String(repeating: "ab", count: 32)).\(getpid()).17"
        let dead = "\(shard)/.tmp-\(String(repeating: "ab", count: 32)).\(try Self.goneProcess()).18"
        try FileSystem.writeAtomically("{\"format\":2,\"outp", to: live)
        try FileSystem.writeAtomically("{\"format\":2,\"outp", to: dead)

        let report = try CacheMaintenance(layout: layout).verify()
        #expect(report.malformedActions == [])
        #expect(report.corrupt == [])
        #expect(FileSystem.exists(live), "a running build's file is not touched")
        #expect(!FileSystem.exists(dead), "a killed build's file is swept")
        #expect(try CacheMaintenance(layout: layout).entries().isEmpty, "temp files are not entries")
    }
}
