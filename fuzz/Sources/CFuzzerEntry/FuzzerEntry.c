#include <dirent.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

// SwiftPM links executable targets with `--defsym main=<Module>_main` (so that tests can link
// them), which hides libFuzzer's own `main`. Each fuzzer's main.swift calls `fuzzer_main`
// instead. Built with `-sanitize=fuzzer` (fuzz/run), it hands over to libFuzzer's driver
// exactly as libFuzzer's `main` would. In a plain build (every `swift build`, so the fuzzers
// can never silently stop compiling) the driver is absent (a weak symbol, null) and the
// executable replays the files and directories named on its command line, once each, through
// the same entry point: `MlfileFuzzer fuzz/corpus/mlfile fuzz/regressions/mlfile`.
__attribute__((weak)) int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path) {
    FILE *file = fopen(path, "rb");
    if (!file) { perror(path); return -1; }
    size_t capacity = 4096, size = 0;
    uint8_t *data = malloc(capacity);
    size_t got;
    while (data && (got = fread(data + size, 1, capacity - size, file)) > 0) {
        size += got;
        if (size == capacity) {
            uint8_t *grown = realloc(data, capacity * 2);
            if (!grown) { free(data); data = NULL; break; }
            data = grown;
            capacity *= 2;
        }
    }
    int failed = !data || ferror(file);
    fclose(file);
    if (failed) { fprintf(stderr, "%s: cannot read\n", path); free(data); return -1; }
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 1;
}

static int compare_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Files of a directory in name order (not recursive), so a replay is the same on every machine.
static int replay_directory(const char *path) {
    DIR *dir = opendir(path);
    if (!dir) { perror(path); return -1; }
    char **names = NULL;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir))) {
        if (entry->d_name[0] == '.') continue;
        char **grown = realloc(names, (count + 1) * sizeof *names);
        if (!grown) break;
        names = grown;
        names[count++] = strdup(entry->d_name);
    }
    closedir(dir);
    qsort(names, count, sizeof *names, compare_names);
    int replayed = 0;
    for (size_t i = 0; i < count; i++) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, names[i]);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
            int n = replay_file(full);
            if (n < 0) { replayed = -1; break; }
            replayed += n;
        }
    }
    for (size_t i = 0; i < count; i++) free(names[i]);
    free(names);
    return replayed;
}

static int replay(const char *program, int argc, char **argv) {
    int total = 0;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-') continue;  // libFuzzer flags mean nothing to a replay
        struct stat st;
        if (stat(argv[i], &st) != 0) { perror(argv[i]); return 2; }
        int n = S_ISDIR(st.st_mode) ? replay_directory(argv[i]) : replay_file(argv[i]);
        if (n < 0) return 2;
        total += n;
    }
    fprintf(stderr, "%s: replayed %d inputs, every invariant held (plain build; fuzz/run builds the fuzzer)\n", program, total);
    return 0;
}

// Swift's runtime backtracer installs SA_SIGINFO handlers at start-up, and libFuzzer does not
// install its own over an existing one, so a trap or abort printed a Swift backtrace and the
// input was lost. Back to the defaults, so libFuzzer's handlers (which write the crash file) win.
static void reset_crash_signals(void) {
    const int signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP};
    for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++) signal(signals[i], SIG_DFL);
}

int fuzzer_main(const char *program, int argc, char **argv) {
    if (LLVMFuzzerRunDriver) {
        reset_crash_signals();
        return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
    }
    return replay(program, argc, argv);
}
