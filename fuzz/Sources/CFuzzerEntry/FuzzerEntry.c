#include <stddef.h>
#include <stdint.h>

// SwiftPM links executable targets with `--defsym main=<Module>_main` (so that tests can link
// them), which hides libFuzzer's own `main`. These are those `<Module>_main`s, one per fuzzer
// executable: each hands over to libFuzzer's driver with that executable's Swift entry point,
// exactly as libFuzzer's `main` would.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int MlfileFuzzer_main(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}

int ModelJSONFuzzer_main(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}

int PredictInputFuzzer_main(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}
