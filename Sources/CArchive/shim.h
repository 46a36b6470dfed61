#ifndef MLBUILD_CARCHIVE_SHIM_H
#define MLBUILD_CARCHIVE_SHIM_H
#include <archive.h>
#include <archive_entry.h>
#endif
