/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-pool"

#include <glib/gi18n-lib.h>

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "sm-error.h"
#include "sm-pool.h"

/* Page runs are managed as in TLSF (two-level segregated fit): free runs sit
 * in lists by size class, found through two bitmaps, so that allocation and
 * free are O(1) whatever the number of pages.  Every run, free or used,
 * carries its length at its first and last page (boundary tags: positive
 * when free, negative when used), which makes coalescing with neighbours
 * O(1) as well.  Everything here is guarded by the pool lock; arenas'
 * allocations never come here. */

#define PAGE      SM_POOL_PAGE_SIZE
#define SL_BITS   3
#define SL_COUNT  (1 << SL_BITS)
#define FL_COUNT  32
#define NONE      (-1)

struct _SmPoolBlock
{
  SmPool       *pool;
  guint32       start;    /* first page */
  guint32       npages;
  gsize         size;     /* bytes asked for */
  SmPoolArena  *arena;    /* when this block is an arena's */
  SmPoolBlock  *next_spare;
};

/* Handles come from chunks the pool keeps, so that a block costs no
 * malloc of its own (that alone would cost as much as the page run). */
#define HANDLES_PER_CHUNK 64

struct _SmPool
{
  GMutex        lock;
  guint8       *base;
  guint32       npages;           /* pages under the limit */
  guint32       capacity;         /* pages the metadata arrays hold */

  /* Page map, valid at run boundaries (tags) and run starts (the rest). */
  gint32       *tag;
  gint32       *next;
  gint32       *prev;
  SmPoolBlock **owner;

  /* Free lists by class, and which are non-empty. */
  gint32        head[FL_COUNT][SL_COUNT];
  guint32       fl_bitmap;
  guint8        sl_bitmap[FL_COUNT];

  /* Figures (pages unless said otherwise) */
  guint32       reserved;
  guint32       peak_reserved;
  guint32       free_runs;
  gsize         block_bytes;      /* bytes asked for by live blocks, arenas excluded */
  guint         blocks;
  guint64       allocations;
  guint64       failures;
  guint64       compactions;
  GPtrArray    *arenas;
  SmPoolBlock  *spare_handles;
  GPtrArray    *handle_chunks;
};

/* ---- size classes ---- */

static inline int
msb (guint32 x)
{
  return 31 - __builtin_clz (x);
}

/* The class whose every run is ≥ n pages (rounded up: used to search). */
static inline void
class_search (guint32  n,
              int     *fl,
              int     *sl)
{
  if (n >= SL_COUNT)
    n += (1u << (msb (n) - SL_BITS)) - 1;
  if (n < SL_COUNT)
    {
      *fl = 0;
      *sl = (int) n;
    }
  else
    {
      int m = msb (n);

      *fl = m - SL_BITS + 1;
      *sl = (int) ((n >> (m - SL_BITS)) & (SL_COUNT - 1));
    }
}

/* The class a run of n pages is filed under (rounded down). */
static inline void
class_insert (guint32  n,
              int     *fl,
              int     *sl)
{
  if (n < SL_COUNT)
    {
      *fl = 0;
      *sl = (int) n;
    }
  else
    {
      int m = msb (n);

      *fl = m - SL_BITS + 1;
      *sl = (int) ((n >> (m - SL_BITS)) & (SL_COUNT - 1));
    }
}

/* ---- the page map ---- */

static inline void
set_tags (SmPool  *pool,
          guint32  start,
          guint32  n,
          gint32   value)
{
  pool->tag[start] = value;
  pool->tag[start + n - 1] = value;
}

static void
list_insert (SmPool  *pool,
             guint32  start,
             guint32  n)
{
  int fl, sl;

  class_insert (n, &fl, &sl);
  set_tags (pool, start, n, (gint32) n);
  pool->prev[start] = NONE;
  pool->next[start] = pool->head[fl][sl];
  if (pool->head[fl][sl] != NONE)
    pool->prev[pool->head[fl][sl]] = (gint32) start;
  pool->head[fl][sl] = (gint32) start;
  pool->fl_bitmap |= 1u << fl;
  pool->sl_bitmap[fl] |= 1u << sl;
  pool->free_runs++;
}

static void
list_remove (SmPool  *pool,
             guint32  start)
{
  guint32 n = (guint32) pool->tag[start];
  gint32 next = pool->next[start], prev = pool->prev[start];
  int fl, sl;

  class_insert (n, &fl, &sl);
  if (prev != NONE)
    pool->next[prev] = next;
  else
    pool->head[fl][sl] = next;
  if (next != NONE)
    pool->prev[next] = prev;

  if (pool->head[fl][sl] == NONE)
    {
      pool->sl_bitmap[fl] &= ~(1u << sl);
      if (pool->sl_bitmap[fl] == 0)
        pool->fl_bitmap &= ~(1u << fl);
    }
  pool->free_runs--;
}

/* A free run of at least n pages, or NONE.  The class search is O(1) but
 * rounds n up to its class's top; when that finds nothing, the runs filed
 * in n's own class may still fit, so they are scanned: the pool refuses a
 * request only when no free run can hold it. */
static gint32
find_free (SmPool  *pool,
           guint32  n)
{
  int fl, sl;
  guint32 sl_map, fl_map;

  class_search (n, &fl, &sl);
  sl_map = fl < FL_COUNT ? pool->sl_bitmap[fl] & (~0u << sl) : 0;
  if (sl_map == 0)
    {
      fl_map = fl + 1 < FL_COUNT ? pool->fl_bitmap & (~0u << (fl + 1)) : 0;
      if (fl_map != 0)
        {
          fl = __builtin_ctz (fl_map);
          sl_map = pool->sl_bitmap[fl];
        }
    }
  if (sl_map != 0)
    return pool->head[fl][__builtin_ctz (sl_map)];

  class_insert (n, &fl, &sl);
  for (gint32 p = pool->head[fl][sl]; p != NONE; p = pool->next[p])
    if ((guint32) pool->tag[p] >= n)
      return p;

  return NONE;
}

/* The largest free run, in pages: in the highest non-empty class. */
static guint32
largest_free_run (SmPool *pool)
{
  guint32 largest = 0;
  int fl, sl;

  if (pool->fl_bitmap == 0)
    return 0;

  fl = msb (pool->fl_bitmap);
  sl = msb (pool->sl_bitmap[fl]);
  for (gint32 p = pool->head[fl][sl]; p != NONE; p = pool->next[p])
    largest = MAX (largest, (guint32) pool->tag[p]);

  return largest;
}

static gboolean
ensure_capacity (SmPool  *pool,
                 guint32  npages)
{
  if (npages <= pool->capacity)
    return TRUE;

  pool->tag = g_renew (gint32, pool->tag, npages);
  pool->next = g_renew (gint32, pool->next, npages);
  pool->prev = g_renew (gint32, pool->prev, npages);
  pool->owner = g_renew (SmPoolBlock *, pool->owner, npages);
  pool->capacity = npages;

  return TRUE;
}

/* ---- public API ---- */

static char *
format_size (gsize bytes)
{
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

SmPool *
sm_pool_new (gsize    limit,
             GError **error)
{
  SmPool *pool;
  void *base;

  if (limit < PAGE || limit > SM_POOL_MAX_LIMIT)
    {
      g_autofree char *max = format_size (SM_POOL_MAX_LIMIT);

      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("A pool limit must be between 4 KiB and %s"), max);
      return NULL;
    }

  /* Address space only: pages cost memory once they are touched. */
  base = mmap (NULL, SM_POOL_MAX_LIMIT, PROT_READ | PROT_WRITE,
               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED)
    {
      int saved_errno = errno;

      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NO_MEMORY,
                   _("Cannot reserve address space for the memory pool: %s"), g_strerror (saved_errno));
      return NULL;
    }

  pool = g_new0 (SmPool, 1);
  g_mutex_init (&pool->lock);
  pool->base = base;
  pool->arenas = g_ptr_array_new ();
  pool->handle_chunks = g_ptr_array_new_with_free_func (g_free);
  for (int fl = 0; fl < FL_COUNT; fl++)
    for (int sl = 0; sl < SL_COUNT; sl++)
      pool->head[fl][sl] = NONE;

  pool->npages = (guint32) (limit / PAGE);
  ensure_capacity (pool, pool->npages);
  list_insert (pool, 0, pool->npages);

  return pool;
}

void
sm_pool_free (SmPool *pool)
{
  if (pool == NULL)
    return;

  if (pool->blocks != 0)
    g_critical ("sm_pool_free: %u blocks are still allocated", pool->blocks);

  munmap (pool->base, SM_POOL_MAX_LIMIT);
  g_ptr_array_unref (pool->arenas);
  g_ptr_array_unref (pool->handle_chunks);
  g_free (pool->tag);
  g_free (pool->next);
  g_free (pool->prev);
  g_free (pool->owner);
  g_mutex_clear (&pool->lock);
  g_free (pool);
}

static void
set_no_memory_error (SmPool  *pool,
                     gsize    size,
                     GError **error)
{
  g_autofree char *asked = format_size (size);
  g_autofree char *largest = format_size ((gsize) largest_free_run (pool) * PAGE);
  g_autofree char *free_bytes = format_size ((gsize) (pool->npages - pool->reserved) * PAGE);
  g_autofree char *limit = format_size ((gsize) pool->npages * PAGE);

  g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NO_MEMORY,
               _("The memory pool cannot hold %s: its largest free run is %s of %s free "
               "(limit %s). Raise the pool limit or compact the pool."),
               asked, largest, free_bytes, limit);
}

static SmPoolBlock *
new_handle (SmPool *pool)
{
  SmPoolBlock *handle;

  if (pool->spare_handles == NULL)
    {
      SmPoolBlock *chunk = g_new0 (SmPoolBlock, HANDLES_PER_CHUNK);

      for (int i = 0; i < HANDLES_PER_CHUNK; i++)
        {
          chunk[i].next_spare = pool->spare_handles;
          pool->spare_handles = &chunk[i];
        }
      g_ptr_array_add (pool->handle_chunks, chunk);
    }

  handle = pool->spare_handles;
  pool->spare_handles = handle->next_spare;

  return handle;
}

static SmPoolBlock *
alloc_locked (SmPool   *pool,
              gsize     size,
              GError  **error)
{
  guint64 npages64 = size == 0 ? 1 : size / PAGE + (size % PAGE != 0);
  guint32 npages, run;
  gint32 start;
  SmPoolBlock *block;

  start = npages64 <= pool->npages ? find_free (pool, (guint32) npages64) : NONE;
  if (start == NONE)
    {
      pool->failures++;
      set_no_memory_error (pool, size, error);
      return NULL;
    }

  npages = (guint32) npages64;
  run = (guint32) pool->tag[start];
  list_remove (pool, (guint32) start);
  if (run > npages)
    list_insert (pool, (guint32) start + npages, run - npages);
  set_tags (pool, (guint32) start, npages, -(gint32) npages);

  block = new_handle (pool);
  *block = (SmPoolBlock) { pool, (guint32) start, npages, size, NULL, NULL };
  pool->owner[start] = block;

  pool->reserved += npages;
  pool->peak_reserved = MAX (pool->peak_reserved, pool->reserved);
  pool->allocations++;
  pool->blocks++;

  return block;
}

static void
free_locked (SmPool      *pool,
             SmPoolBlock *block)
{
  guint32 start = block->start, n = block->npages;

  pool->reserved -= n;
  pool->blocks--;

  /* Merge with free neighbours, whose tags sit next to ours. */
  if (start > 0 && pool->tag[start - 1] > 0)
    {
      guint32 left = (guint32) pool->tag[start - 1];

      list_remove (pool, start - left);
      start -= left;
      n += left;
    }
  if (start + n < pool->npages && pool->tag[start + n] > 0)
    {
      guint32 right = (guint32) pool->tag[start + n];

      list_remove (pool, start + n);
      n += right;
    }
  list_insert (pool, start, n);

  block->next_spare = pool->spare_handles;
  pool->spare_handles = block;
}

SmPoolBlock *
sm_pool_alloc (SmPool  *pool,
               gsize    size,
               GError **error)
{
  SmPoolBlock *block;

  g_return_val_if_fail (pool != NULL, NULL);

  g_mutex_lock (&pool->lock);
  block = alloc_locked (pool, size, error);
  if (block != NULL)
    pool->block_bytes += size;
  g_mutex_unlock (&pool->lock);

  return block;
}

void
sm_pool_block_free (SmPoolBlock *block)
{
  SmPool *pool;

  if (block == NULL)
    return;

  pool = block->pool;
  g_mutex_lock (&pool->lock);
  pool->block_bytes -= block->size;
  free_locked (pool, block);
  g_mutex_unlock (&pool->lock);
}

gpointer
sm_pool_block_get_data (SmPoolBlock *block)
{
  return block->pool->base + (gsize) block->start * PAGE;
}

gsize
sm_pool_block_get_size (SmPoolBlock *block)
{
  return block->size;
}

gsize
sm_pool_block_get_offset (SmPoolBlock *block)
{
  return (gsize) block->start * PAGE;
}

gboolean
sm_pool_set_limit (SmPool  *pool,
                   gsize    limit,
                   GError **error)
{
  guint32 npages = (guint32) (limit / PAGE), old;
  gboolean ok = TRUE;

  g_return_val_if_fail (pool != NULL, FALSE);

  if (limit < PAGE || limit > SM_POOL_MAX_LIMIT)
    {
      g_autofree char *max = format_size (SM_POOL_MAX_LIMIT);

      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("A pool limit must be between 4 KiB and %s"), max);
      return FALSE;
    }

  g_mutex_lock (&pool->lock);
  old = pool->npages;

  if (npages > old)
    {
      guint32 start = old, n = npages - old;

      ensure_capacity (pool, npages);
      if (old > 0 && pool->tag[old - 1] > 0)
        {
          guint32 left = (guint32) pool->tag[old - 1];

          list_remove (pool, old - left);
          start -= left;
          n += left;
        }
      pool->npages = npages;
      list_insert (pool, start, n);
    }
  else if (npages < old)
    {
      gint32 last = pool->tag[old - 1];
      guint32 last_start = last > 0 ? old - (guint32) last : old;

      if (last_start > npages)
        {
          g_autofree char *needed = format_size ((gsize) (last_start) * PAGE);

          g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NO_MEMORY,
                       _("The pool limit cannot go below %s now: blocks are in use up to there. "
                       "Compact the pool first."), needed);
          ok = FALSE;
        }
      else
        {
          list_remove (pool, last_start);
          if (npages > last_start)
            list_insert (pool, last_start, npages - last_start);
          /* Give the memory of the cut pages back to the system. */
          madvise (pool->base + (gsize) npages * PAGE, (gsize) (old - npages) * PAGE, MADV_DONTNEED);
          pool->npages = npages;
        }
    }

  g_mutex_unlock (&pool->lock);

  return ok;
}

void
sm_pool_get_stats (SmPool      *pool,
                   SmPoolStats *stats)
{
  gsize arena_bytes = 0;
  guint64 arena_allocations = 0, arena_failures = 0;

  g_return_if_fail (pool != NULL && stats != NULL);

  g_mutex_lock (&pool->lock);

  for (guint i = 0; i < pool->arenas->len; i++)
    {
      SmPoolArena *arena = g_ptr_array_index (pool->arenas, i);

      arena_bytes += __atomic_load_n (&arena->used, __ATOMIC_RELAXED);
      arena_allocations += __atomic_load_n (&arena->allocations, __ATOMIC_RELAXED);
      arena_failures += __atomic_load_n (&arena->failures, __ATOMIC_RELAXED);
    }

  stats->limit = (gsize) pool->npages * PAGE;
  stats->reserved = (gsize) pool->reserved * PAGE;
  stats->in_use = pool->block_bytes + arena_bytes;
  stats->peak_reserved = (gsize) pool->peak_reserved * PAGE;
  stats->total_free = (gsize) (pool->npages - pool->reserved) * PAGE;
  stats->largest_free_run = (gsize) largest_free_run (pool) * PAGE;
  stats->free_runs = pool->free_runs;
  stats->fragmentation = stats->total_free > 0
                         ? 1.0 - (double) stats->largest_free_run / stats->total_free
                         : 0.0;
  stats->blocks = pool->blocks - pool->arenas->len;
  stats->arenas = pool->arenas->len;
  stats->allocations = pool->allocations + arena_allocations;
  stats->failures = pool->failures + arena_failures;
  stats->compactions = pool->compactions;

  g_mutex_unlock (&pool->lock);
}

guint
sm_pool_compact (SmPool *pool)
{
  g_autoptr(GPtrArray) blocks = g_ptr_array_new ();
  guint32 dst = 0;
  guint moved = 0;

  g_return_val_if_fail (pool != NULL, 0);

  g_mutex_lock (&pool->lock);

  /* Slide every used run down to `dst`, in address order: a run only ever
   * moves down, onto free pages or onto its own old place (memmove), never
   * onto a run not yet moved.  One free run remains, at the end. */
  for (guint32 p = 0; p < pool->npages; )
    {
      gint32 tag = pool->tag[p];
      guint32 n = (guint32) ABS (tag);

      if (tag < 0)
        {
          SmPoolBlock *block = pool->owner[p];

          if (p != dst)
            {
              memmove (pool->base + (gsize) dst * PAGE, pool->base + (gsize) p * PAGE, (gsize) n * PAGE);
              block->start = dst;
              if (block->arena != NULL)
                block->arena->base = pool->base + (gsize) dst * PAGE;
              moved++;
            }
          g_ptr_array_add (blocks, block);
          dst += n;
        }
      p += n;
    }

  /* Re-file the runs at their new places; used runs now tile [0, dst). */
  for (int fl = 0; fl < FL_COUNT; fl++)
    {
      pool->sl_bitmap[fl] = 0;
      for (int sl = 0; sl < SL_COUNT; sl++)
        pool->head[fl][sl] = NONE;
    }
  pool->fl_bitmap = 0;
  pool->free_runs = 0;
  for (guint i = 0; i < blocks->len; i++)
    {
      SmPoolBlock *block = g_ptr_array_index (blocks, i);

      set_tags (pool, block->start, block->npages, -(gint32) block->npages);
      pool->owner[block->start] = block;
    }
  if (dst < pool->npages)
    list_insert (pool, dst, pool->npages - dst);

  pool->compactions++;
  g_mutex_unlock (&pool->lock);

  return moved;
}

SmPoolArena *
sm_pool_arena_new (SmPool  *pool,
                   gsize    capacity,
                   GError **error)
{
  SmPoolArena *arena;
  SmPoolBlock *block;

  g_return_val_if_fail (pool != NULL, NULL);

  /* Whole pages; absurd sizes are left for alloc_locked() to refuse. */
  if (capacity <= SM_POOL_MAX_LIMIT)
    capacity = (capacity + PAGE - 1) / PAGE * PAGE;

  g_mutex_lock (&pool->lock);
  block = alloc_locked (pool, capacity, error);
  if (block != NULL)
    {
      arena = g_new0 (SmPoolArena, 1);
      arena->base = pool->base + (gsize) block->start * PAGE;
      arena->capacity = capacity;
      arena->pool = pool;
      arena->block = block;
      block->arena = arena;
      g_ptr_array_add (pool->arenas, arena);
    }
  g_mutex_unlock (&pool->lock);

  return block != NULL ? arena : NULL;
}

void
sm_pool_arena_free (SmPoolArena *arena)
{
  SmPool *pool;

  if (arena == NULL)
    return;

  pool = arena->pool;
  g_mutex_lock (&pool->lock);
  /* Its counters stay in the pool's totals. */
  pool->allocations += arena->allocations;
  pool->failures += arena->failures;
  g_ptr_array_remove_fast (pool->arenas, arena);
  free_locked (pool, arena->block);
  g_mutex_unlock (&pool->lock);

  g_free (arena);
}

gsize
sm_pool_arena_get_capacity (SmPoolArena *arena)
{
  return arena->capacity;
}
