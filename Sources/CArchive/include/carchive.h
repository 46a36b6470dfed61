#ifndef MLBUILD_CARCHIVE_H
#define MLBUILD_CARCHIVE_H
// libarchive's API, for the OCI writer and reader. The functions mlbuild calls are defined in
// carchive.c as forwarders that load libarchive.so.13 with dlopen on first use, so that a
// command that packs no image (a build, a no-op: most of them) does not pay for loading
// libarchive and what it links (libxml2, ICU, nettle, lzma, zstd, …): ~3 ms of every start.
#include <archive.h>
#include <archive_entry.h>

/// Why libarchive could not be loaded (then every `*_new` returns NULL), or NULL when it was.
const char *mlbuild_archive_load_error(void);
#endif
