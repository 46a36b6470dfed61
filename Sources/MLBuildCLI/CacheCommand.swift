import ArgumentParser
import Foundation
import MLBuildCache
import MLBuildCore

/// `mlbuild cache stats|verify|gc`.
struct CacheCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "Inspect and maintain the local cache.",
        subcommands: [Stats.self, Verify.self, Collect.self]
    )

    struct CacheOptions: ParsableArguments {
        @Option(name: .customShort("C"), help: ArgumentHelp("Change to DIR first.", valueName: "DIR"))
        var directory: String?

        @Option(name: .customLong("cache-dir"), help: ArgumentHelp("The cache directory (default: $MLBUILD_CACHE_DIR, else ./cache).", valueName: "DIR"))
        var cacheDirectory: String?

        func layout() throws -> CacheLayout {
            var options = WorkspaceOptions()
            options.directory = directory
            options.cacheDirectory = cacheDirectory
            return try options.workspace().cache
        }
    }

    struct Stats: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "stats", abstract: "Entries, bytes and the hit ratio of recent builds.")
        @OptionGroup var options: CacheOptions

        func run() async throws {
            let layout = try options.layout()
            let stats: CacheMaintenance.Statistics
            do { stats = try CacheMaintenance(layout: layout).statistics() } catch { throw CLIError.message("\(error)") }
            print("cache: \(layout.root)")
            print("blobs: \(stats.blobs) (\(CacheMaintenance.formatSize(stats.blobBytes)))")
            print("actions: \(stats.actions) (\(CacheMaintenance.formatSize(stats.actionBytes)))")
            print("total: \(stats.blobs + stats.actions) entries, \(CacheMaintenance.formatSize(stats.blobBytes + stats.actionBytes))")
            print("quarantined: \(stats.quarantined)")
            if let ratio = stats.hitRatio {
                print(String(format: "hit ratio: %.1f%% over the last %d builds (%d restored, %d built, %d fresh)",
                             ratio * 100, stats.recentBuilds, stats.recentRestored, stats.recentBuilt, stats.recentFresh))
            } else {
                print("hit ratio: n/a (\(stats.recentBuilds) recent builds had nothing to build)")
            }
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Re-hash every blob; report and remove corrupt ones (exit 1 when any were found).")
        @OptionGroup var options: CacheOptions

        func run() async throws {
            let layout = try options.layout()
            let report: CacheMaintenance.VerifyReport
            do { report = try CacheMaintenance(layout: layout).verify() } catch { throw CLIError.message("\(error)") }
            let done = layout.isReadOnly ? "left in place (the cache is read-only)" : "removed"
            for name in report.corrupt { print("corrupt blob \(name): \(layout.isReadOnly ? done : "removed (quarantined)")") }
            for name in report.malformedActions { print("malformed action entry \(name): \(done)") }
            print("cache verify: \(counted(report.checked, "blob")) checked, \(report.corrupt.count) corrupt, \(counted(report.malformedActions.count, "malformed action entry", plural: "malformed action entries"))")
            if !report.corrupt.isEmpty || !report.malformedActions.isEmpty { throw CLIError.failed }
        }
    }

    struct Collect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc",
            abstract: "Delete least recently used entries until the cache fits in --max-size.")
        @OptionGroup var options: CacheOptions

        @Option(name: .customLong("max-size"), help: ArgumentHelp("The size to shrink to: bytes, or with K, M, G, T (powers of 1024).", valueName: "SIZE"))
        var maxSize: String

        func validate() throws {
            if CacheMaintenance.parseSize(maxSize) == nil { throw ValidationError("--max-size: '\(maxSize)' is not a size (e.g. 500M, 10G)") }
        }

        func run() async throws {
            let layout = try options.layout()
            try Self.requireWritable(layout, for: "gc", because: "it deletes entries")
            let limit = CacheMaintenance.parseSize(maxSize) ?? 0
            let report: CacheMaintenance.CollectReport
            do { report = try CacheMaintenance(layout: layout).collect(maxBytes: limit) } catch { throw CLIError.message("\(error)") }
            print("cache gc: removed \(report.removedEntries) entries (\(CacheMaintenance.formatSize(report.removedBytes))), "
                  + "kept \(report.keptEntries) (\(CacheMaintenance.formatSize(report.keptBytes)))")
        }

        /// A read-only cache (a read-only mount, or a directory this user cannot write) is a
        /// usage error for the commands that change it, not a failure halfway through.
        static func requireWritable(_ layout: CacheLayout, for command: String, because reason: String) throws {
            guard layout.isReadOnly else { return }
            throw CLIError.usage("cache \(command): the cache directory \(layout.root) is read-only, and \(reason); "
                + "run it where the cache is writable")
        }
    }
}
