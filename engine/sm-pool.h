/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The engine's memory pool: a fixed region of 4 KiB pages under a limit.
 *
 * Long-lived tensors (weights, packed panels) take runs of whole pages,
 * reached through an SmPoolBlock handle so that sm_pool_compact() can move
 * them.  Each worker takes a scratch arena (itself one page run) and bump-
 * allocates its temporaries from it, resetting it after every batch: that
 * path takes no lock and touches no shared memory.
 *
 * The figures the dashboard shows are defined here, once (DESIGN.md):
 * fragmentation = 1 − largest free run / total free, 0 when nothing is free. */

#define SM_POOL_PAGE_SIZE      4096
#define SM_POOL_DEFAULT_LIMIT  (25 * 1024 * 1024)
/* Address space reserved up front so that the limit can grow live; only the
 * pages in use cost memory. */
#define SM_POOL_MAX_LIMIT      ((gsize) 4 << 30)

typedef struct _SmPool      SmPool;
typedef struct _SmPoolBlock SmPoolBlock;
typedef struct _SmPoolArena SmPoolArena;

typedef struct
{
  gsize   limit;              /* bytes the pool may hand out */
  gsize   reserved;           /* bytes of pages held by blocks and arenas */
  gsize   in_use;             /* bytes requested by live blocks and arena allocations */
  gsize   peak_reserved;      /* the highest `reserved` so far */
  gsize   total_free;         /* limit − reserved */
  gsize   largest_free_run;   /* bytes */
  guint   free_runs;          /* maximal runs of free pages */
  double  fragmentation;      /* 1 − largest_free_run / total_free, or 0 */
  guint   blocks;             /* live blocks */
  guint   arenas;             /* live arenas */
  guint64 allocations;        /* successful allocations, blocks and arena ones */
  guint64 failures;           /* refused requests, blocks and arena ones */
  guint64 compactions;
} SmPoolStats;

SmPool       *sm_pool_new            (gsize          limit,
                                      GError       **error);
void          sm_pool_free           (SmPool        *pool);

/* Changes the limit live: growing always works (up to SM_POOL_MAX_LIMIT);
 * shrinking needs the pages above the new limit to be free, and says how
 * much is in the way otherwise (sm_pool_compact() can clear it). */
gboolean      sm_pool_set_limit      (SmPool        *pool,
                                      gsize          limit,
                                      GError       **error);

/* A consistent reading of every figure; takes the pool lock briefly. */
void          sm_pool_get_stats      (SmPool        *pool,
                                      SmPoolStats   *stats);

/* A run of whole pages for @size bytes (64-byte aligned, as the kernels
 * want), or NULL with SM_ENGINE_ERROR_NO_MEMORY saying what was asked,
 * what is free and what the limit is.  Thread-safe. */
SmPoolBlock  *sm_pool_alloc          (SmPool        *pool,
                                      gsize          size,
                                      GError       **error);
void          sm_pool_block_free     (SmPoolBlock   *block);

/* The block's memory.  It moves when the pool is compacted: fetch it again
 * after sm_pool_compact(), never keep it across one. */
gpointer      sm_pool_block_get_data (SmPoolBlock   *block);
gsize         sm_pool_block_get_size (SmPoolBlock   *block);
/* Where the block starts in the pool's region, in bytes: for a map of the
 * pool, and for tests.  Changes with compaction, like the data. */
gsize         sm_pool_block_get_offset (SmPoolBlock *block);

/* Slides every block towards the start of the region, in address order, so
 * that all free pages form one run at the end.  Blocks' contents move with
 * them; the caller must make sure no other thread is using any block's
 * memory meanwhile (the engine pauses its workers).  Returns the number of
 * blocks moved. */
guint         sm_pool_compact        (SmPool        *pool);

/* A scratch arena of @capacity bytes (rounded up to whole pages), for one
 * thread at a time. */
SmPoolArena  *sm_pool_arena_new      (SmPool        *pool,
                                      gsize          capacity,
                                      GError       **error);
void          sm_pool_arena_free     (SmPoolArena   *arena);
gsize         sm_pool_arena_get_capacity (SmPoolArena *arena);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmPool, sm_pool_free)

/* The arena is declared here so that allocation inlines into the kernels'
 * callers: a bump of an offset, no lock, no atomic read-modify-write.  The
 * counters are written by the owning thread only, with relaxed atomic
 * stores, so that sm_pool_get_stats() can read them from another thread. */
struct _SmPoolArena
{
  guint8   *base;
  gsize     capacity;
  gsize     used;
  guint64   allocations;
  guint64   failures;
  /* Owned by the pool */
  SmPool       *pool;
  SmPoolBlock  *block;
};

/* @size bytes aligned to 64 (cache line and AVX-512 width), or NULL when
 * the arena is full (counted as a failure; the caller reports it). */
static inline gpointer
sm_pool_arena_alloc (SmPoolArena *arena,
                     gsize        size)
{
  gsize start = (arena->used + 63) & ~(gsize) 63;

  if (G_UNLIKELY (start + size > arena->capacity || start + size < start))
    {
      __atomic_store_n (&arena->failures, arena->failures + 1, __ATOMIC_RELAXED);
      return NULL;
    }

  __atomic_store_n (&arena->used, start + size, __ATOMIC_RELAXED);
  __atomic_store_n (&arena->allocations, arena->allocations + 1, __ATOMIC_RELAXED);

  return arena->base + start;
}

/* Frees everything allocated from the arena at once: the end of a batch. */
static inline void
sm_pool_arena_reset (SmPoolArena *arena)
{
  __atomic_store_n (&arena->used, 0, __ATOMIC_RELAXED);
}

G_END_DECLS
