#ifndef MLBUILD_CZSTD_SHIM_H
#define MLBUILD_CZSTD_SHIM_H
// libzstd's stable streaming API (ZSTD_compressStream2 with ZSTD_c_nbWorkers), headers from
// libzstd-dev. Debian builds libzstd with ZSTD_MULTITHREAD, which the layer writer relies on.
#include <zstd.h>
#endif
