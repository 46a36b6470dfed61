// The header is all there is (a static inline function); SwiftPM wants one source per C target.
#include "cprefetch.h"
