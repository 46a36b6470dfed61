import MLBuildCLI
#if canImport(Glibc)
import Glibc
#endif

exit(await MLBuildMain.run(Array(CommandLine.arguments.dropFirst())))
