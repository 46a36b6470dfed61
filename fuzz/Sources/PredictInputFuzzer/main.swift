import CFuzzerEntry
import Foundation

// libFuzzer's driver (or, in a plain build, a replay of the named inputs): see CFuzzerEntry.
exit(fuzzer_main("PredictInputFuzzer", CommandLine.argc, CommandLine.unsafeArgv))
