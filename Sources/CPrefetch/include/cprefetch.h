// A cache-prefetch hint, which Swift has no spelling for. The histogram and partition passes
// of gradient boosting read rows in sorted but irregular order (a node's row indices), which the
// hardware prefetcher cannot follow; asking for a row some 32 positions ahead hides most of the
// memory latency. A hint only: it never faults and changes no result.
#ifndef CPREFETCH_H
#define CPREFETCH_H

/// Asks the CPU to bring the cache line holding `address` into every cache level for reading.
static inline void cprefetch_read(const void *address) { __builtin_prefetch(address, 0, 3); }

#endif
