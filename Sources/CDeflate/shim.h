#ifndef MLBUILD_CDEFLATE_SHIM_H
#define MLBUILD_CDEFLATE_SHIM_H
// libdeflate: whole-buffer DEFLATE, the gzip layers' block compressor.
#include <libdeflate.h>
#endif
