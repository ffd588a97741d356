// Small C helpers for the Swift kernels: what Swift cannot reach directly (compiler builtins behind macros).
#ifndef RACONTEUR_CSUPPORT_H
#define RACONTEUR_CSUPPORT_H

/// Asks for the cache line holding `p` to be loaded into every cache level (the _mm_prefetch macro's T0 hint).
static inline void raconteur_prefetch(const void *p) { __builtin_prefetch(p, 0, 3); }

#endif
