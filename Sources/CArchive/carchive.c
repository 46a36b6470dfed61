// See include/carchive.h. Each function below has libarchive's name and prototype (checked
// against <archive.h> by the compiler) and forwards to the function of the same name in
// libarchive.so.13, found with dlsym on first use. Nothing here is linked against libarchive.
#include "carchive.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *library;
static char load_error[512];
static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    library = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        const char *reason = dlerror();
        snprintf(load_error, sizeof load_error,
                 "cannot load libarchive.so.13 (Debian: apt-get install -y libarchive13): %s", reason ? reason : "unknown");
    }
}

const char *mlbuild_archive_load_error(void) {
    pthread_once(&load_once, load);
    return library ? NULL : load_error;
}

// The function `name` of libarchive; NULL when libarchive cannot be loaded.
static void *resolve(const char *name) {
    pthread_once(&load_once, load);
    return library ? dlsym(library, name) : NULL;
}

// A libarchive.so.13 without a function of its API is not one mlbuild can run with.
static void missing(const char *name) {
    fprintf(stderr, "mlbuild: libarchive.so.13 has no function %s (libarchive 3.6 or later is needed)\n", name);
    abort();
}

// Only the constructors can be reached without libarchive (they then return NULL, which
// callers report with mlbuild_archive_load_error); the others take what a constructor returned.
#define FORWARD(name) \
    static __typeof__(name) *_Atomic forward_##name; \
    __typeof__(name) *target = forward_##name; \
    if (!target) { target = (__typeof__(name) *)resolve(#name); if (!target) missing(#name); forward_##name = target; }
#define FORWARD_OR_NULL(name) \
    static __typeof__(name) *_Atomic forward_##name; \
    __typeof__(name) *target = forward_##name; \
    if (!target) { target = (__typeof__(name) *)resolve(#name); if (!target) return NULL; forward_##name = target; }

__LA_MODE_T archive_entry_filetype(struct archive_entry *a) {
    FORWARD(archive_entry_filetype)
    return target(a);
}

void archive_entry_free(struct archive_entry *a) {
    FORWARD(archive_entry_free)
    target(a);
}

const char *archive_entry_hardlink(struct archive_entry *a) {
    FORWARD(archive_entry_hardlink)
    return target(a);
}

const char *archive_entry_hardlink_utf8(struct archive_entry *a) {
    FORWARD(archive_entry_hardlink_utf8)
    return target(a);
}

struct archive_entry *archive_entry_new(void) {
    FORWARD_OR_NULL(archive_entry_new)
    return target();
}

const char *archive_entry_pathname(struct archive_entry *a) {
    FORWARD(archive_entry_pathname)
    return target(a);
}

const char *archive_entry_pathname_utf8(struct archive_entry *a) {
    FORWARD(archive_entry_pathname_utf8)
    return target(a);
}

__LA_MODE_T archive_entry_perm(struct archive_entry *a) {
    FORWARD(archive_entry_perm)
    return target(a);
}

void archive_entry_set_filetype(struct archive_entry *a, unsigned int t) {
    FORWARD(archive_entry_set_filetype)
    target(a, t);
}

void archive_entry_set_gid(struct archive_entry *a, la_int64_t g) {
    FORWARD(archive_entry_set_gid)
    target(a, g);
}

void archive_entry_set_mtime(struct archive_entry *a, time_t t, long ns) {
    FORWARD(archive_entry_set_mtime)
    target(a, t, ns);
}

void archive_entry_set_pathname_utf8(struct archive_entry *a, const char *p) {
    FORWARD(archive_entry_set_pathname_utf8)
    target(a, p);
}

void archive_entry_set_perm(struct archive_entry *a, __LA_MODE_T m) {
    FORWARD(archive_entry_set_perm)
    target(a, m);
}

void archive_entry_set_size(struct archive_entry *a, la_int64_t s) {
    FORWARD(archive_entry_set_size)
    target(a, s);
}

void archive_entry_set_symlink_utf8(struct archive_entry *a, const char *p) {
    FORWARD(archive_entry_set_symlink_utf8)
    target(a, p);
}

void archive_entry_set_uid(struct archive_entry *a, la_int64_t u) {
    FORWARD(archive_entry_set_uid)
    target(a, u);
}

la_int64_t archive_entry_size(struct archive_entry *a) {
    FORWARD(archive_entry_size)
    return target(a);
}

int archive_entry_size_is_set(struct archive_entry *a) {
    FORWARD(archive_entry_size_is_set)
    return target(a);
}

const char *archive_entry_symlink(struct archive_entry *a) {
    FORWARD(archive_entry_symlink)
    return target(a);
}

const char *archive_entry_symlink_utf8(struct archive_entry *a) {
    FORWARD(archive_entry_symlink_utf8)
    return target(a);
}

const char *archive_error_string(struct archive *a) {
    FORWARD(archive_error_string)
    return target(a);
}

int archive_read_close(struct archive *a) {
    FORWARD(archive_read_close)
    return target(a);
}

la_ssize_t archive_read_data(struct archive *a, void *b, size_t n) {
    FORWARD(archive_read_data)
    return target(a, b, n);
}

int archive_read_free(struct archive *a) {
    FORWARD(archive_read_free)
    return target(a);
}

struct archive *archive_read_new(void) {
    FORWARD_OR_NULL(archive_read_new)
    return target();
}

int archive_read_next_header(struct archive *a, struct archive_entry **e) {
    FORWARD(archive_read_next_header)
    return target(a, e);
}

int archive_read_open_filename(struct archive *a, const char *f, size_t b) {
    FORWARD(archive_read_open_filename)
    return target(a, f, b);
}

int archive_read_set_format_option(struct archive *a, const char *m, const char *o, const char *v) {
    FORWARD(archive_read_set_format_option)
    return target(a, m, o, v);
}

int archive_read_support_filter_all(struct archive *a) {
    FORWARD(archive_read_support_filter_all)
    return target(a);
}

int archive_read_support_format_raw(struct archive *a) {
    FORWARD(archive_read_support_format_raw)
    return target(a);
}

int archive_read_support_format_tar(struct archive *a) {
    FORWARD(archive_read_support_format_tar)
    return target(a);
}

int archive_write_close(struct archive *a) {
    FORWARD(archive_write_close)
    return target(a);
}

la_ssize_t archive_write_data(struct archive *a, const void *b, size_t n) {
    FORWARD(archive_write_data)
    return target(a, b, n);
}

int archive_write_finish_entry(struct archive *a) {
    FORWARD(archive_write_finish_entry)
    return target(a);
}

int archive_write_free(struct archive *a) {
    FORWARD(archive_write_free)
    return target(a);
}

int archive_write_header(struct archive *a, struct archive_entry *e) {
    FORWARD(archive_write_header)
    return target(a, e);
}

struct archive *archive_write_new(void) {
    FORWARD_OR_NULL(archive_write_new)
    return target();
}

int archive_write_open2(struct archive *a, void *c, archive_open_callback *o, archive_write_callback *w, archive_close_callback *cl, archive_free_callback *f) {
    FORWARD(archive_write_open2)
    return target(a, c, o, w, cl, f);
}

int archive_write_set_bytes_per_block(struct archive *a, int n) {
    FORWARD(archive_write_set_bytes_per_block)
    return target(a, n);
}

int archive_write_set_format_option(struct archive *a, const char *m, const char *o, const char *v) {
    FORWARD(archive_write_set_format_option)
    return target(a, m, o, v);
}

int archive_write_set_format_pax_restricted(struct archive *a) {
    FORWARD(archive_write_set_format_pax_restricted)
    return target(a);
}

int archive_write_set_format_ustar(struct archive *a) {
    FORWARD(archive_write_set_format_ustar)
    return target(a);
}
