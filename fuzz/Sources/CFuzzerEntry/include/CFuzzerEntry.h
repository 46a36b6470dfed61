#ifndef CFUZZERENTRY_H
#define CFUZZERENTRY_H

/// Runs libFuzzer's driver over the executable's `LLVMFuzzerTestOneInput` when linked with
/// `-sanitize=fuzzer`; otherwise replays the files and directories named in `argv` once each.
int fuzzer_main(const char *program, int argc, char **argv);

#endif
