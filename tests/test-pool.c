/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "sm-error.h"
#include "sm-pool.h"

#define PAGE SM_POOL_PAGE_SIZE

static void
assert_figures (SmPool *pool,
                gsize   free_pages,
                gsize   largest_pages,
                guint   runs)
{
  SmPoolStats stats;

  sm_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.total_free, ==, free_pages * PAGE);
  g_assert_cmpuint (stats.largest_free_run, ==, largest_pages * PAGE);
  g_assert_cmpuint (stats.free_runs, ==, runs);
  g_assert_cmpuint (stats.reserved + stats.total_free, ==, stats.limit);
  if (free_pages == 0)
    g_assert_cmpfloat (stats.fragmentation, ==, 0.0);
  else
    g_assert_cmpfloat_with_epsilon (stats.fragmentation, 1.0 - (double) largest_pages / free_pages, 1e-12);
}

/* Fragmentation = 1 − largest free run / total free, on layouts built by hand. */
static void
test_pool_fragmentation_layouts (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (10 * PAGE, NULL);
  SmPoolBlock *blocks[10];

  assert_figures (pool, 10, 10, 1);   /* empty: one run, no fragmentation */

  for (int i = 0; i < 10; i++)
    blocks[i] = sm_pool_alloc (pool, PAGE, NULL);
  assert_figures (pool, 0, 0, 0);     /* full: nothing free, fragmentation 0 */

  for (int i = 0; i < 10; i += 2)
    sm_pool_block_free (blocks[i]);
  assert_figures (pool, 5, 1, 5);     /* every other page: 1 − 1/5 = 0.8 */

  sm_pool_block_free (blocks[1]);
  assert_figures (pool, 6, 3, 4);     /* pages 0-2 merge: 1 − 3/6 = 0.5 */

  for (int i = 3; i < 10; i += 2)
    sm_pool_block_free (blocks[i]);
  assert_figures (pool, 10, 10, 1);   /* everything merges back */
}

static void
test_pool_limit (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (8 * PAGE, NULL);
  g_autoptr(GError) error = NULL;
  SmPoolBlock *block, *big;
  SmPoolStats stats;

  block = sm_pool_alloc (pool, 3 * PAGE, &error);
  g_assert_no_error (error);

  /* 6 pages cannot fit in the 5 left: a clear error, and nothing lost. */
  big = sm_pool_alloc (pool, 6 * PAGE, &error);
  g_assert_null (big);
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NO_MEMORY);
  g_assert_nonnull (strstr (error->message, "24.0"));   /* asked */
  g_assert_nonnull (strstr (error->message, "20.0"));   /* free */
  g_clear_error (&error);

  /* Absurd requests fail the same way instead of overflowing. */
  g_assert_null (sm_pool_alloc (pool, G_MAXSIZE, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NO_MEMORY);
  g_clear_error (&error);

  sm_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.failures, ==, 2);
  g_assert_cmpuint (stats.allocations, ==, 1);
  g_assert_cmpuint (stats.blocks, ==, 1);

  big = sm_pool_alloc (pool, 5 * PAGE, &error);
  g_assert_no_error (error);
  sm_pool_block_free (big);
  sm_pool_block_free (block);

  g_assert_null (sm_pool_new (100, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
}

static void
test_pool_set_limit (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (8 * PAGE, NULL);
  g_autoptr(GError) error = NULL;
  SmPoolBlock *low, *high;
  SmPoolStats stats;

  low = sm_pool_alloc (pool, 2 * PAGE, NULL);
  high = sm_pool_alloc (pool, 2 * PAGE, NULL);   /* pages 2-3 */
  sm_pool_block_free (low);

  /* Growing extends the free run at the end. */
  g_assert_true (sm_pool_set_limit (pool, 16 * PAGE, &error));
  g_assert_no_error (error);
  assert_figures (pool, 14, 12, 2);

  /* Shrinking below a block in use is refused and changes nothing ... */
  g_assert_false (sm_pool_set_limit (pool, 3 * PAGE, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NO_MEMORY);
  g_clear_error (&error);
  assert_figures (pool, 14, 12, 2);

  /* ... until compaction has moved it down. */
  g_assert_cmpuint (sm_pool_compact (pool), ==, 1);
  g_assert_cmpuint (sm_pool_block_get_offset (high), ==, 0);
  g_assert_true (sm_pool_set_limit (pool, 3 * PAGE, &error));
  g_assert_no_error (error);
  sm_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.limit, ==, 3 * PAGE);
  assert_figures (pool, 1, 1, 1);

  sm_pool_block_free (high);
}

static void
fill (SmPoolBlock *block,
      guint8       value)
{
  memset (sm_pool_block_get_data (block), value, sm_pool_block_get_size (block));
}

static gboolean
holds (SmPoolBlock *block,
       guint8       value)
{
  const guint8 *data = sm_pool_block_get_data (block);

  for (gsize i = 0; i < sm_pool_block_get_size (block); i++)
    if (data[i] != value)
      return FALSE;

  return TRUE;
}

static void
test_pool_compact (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (64 * PAGE, NULL);
  SmPoolBlock *blocks[16];
  SmPoolArena *arena;
  SmPoolStats before, after;
  guint8 *scratch;

  for (int i = 0; i < 16; i++)
    {
      blocks[i] = sm_pool_alloc (pool, (gsize) (i % 3 + 1) * PAGE - 100, NULL);
      fill (blocks[i], (guint8) (i + 1));
    }
  arena = sm_pool_arena_new (pool, 2 * PAGE, NULL);
  for (int i = 0; i < 16; i += 2)
    g_clear_pointer (&blocks[i], sm_pool_block_free);

  sm_pool_get_stats (pool, &before);
  g_assert_cmpfloat (before.fragmentation, >, 0.3);

  g_assert_cmpuint (sm_pool_compact (pool), >, 0);
  sm_pool_get_stats (pool, &after);
  g_assert_cmpfloat (after.fragmentation, ==, 0.0);
  g_assert_cmpuint (after.free_runs, ==, 1);
  g_assert_cmpuint (after.total_free, ==, before.total_free);
  g_assert_cmpuint (after.compactions, ==, 1);

  /* Contents moved with their blocks; the arena moved and still works. */
  for (int i = 1; i < 16; i += 2)
    g_assert_true (holds (blocks[i], (guint8) (i + 1)));
  scratch = sm_pool_arena_alloc (arena, 2 * PAGE);
  g_assert_nonnull (scratch);
  memset (scratch, 0xab, 2 * PAGE);
  for (int i = 1; i < 16; i += 2)
    g_assert_true (holds (blocks[i], (guint8) (i + 1)));

  for (int i = 1; i < 16; i += 2)
    sm_pool_block_free (blocks[i]);
  sm_pool_arena_free (arena);
  assert_figures (pool, 64, 64, 1);
}

static void
test_pool_arena (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (16 * PAGE, NULL);
  g_autoptr(GError) error = NULL;
  SmPoolArena *arena = sm_pool_arena_new (pool, PAGE + 1, &error);
  SmPoolStats stats;
  guint8 *a, *b;

  g_assert_no_error (error);
  g_assert_cmpuint (sm_pool_arena_get_capacity (arena), ==, 2 * PAGE);

  a = sm_pool_arena_alloc (arena, 10);
  b = sm_pool_arena_alloc (arena, 100);
  g_assert_cmpuint ((guintptr) a % 64, ==, 0);
  g_assert_cmpuint ((guintptr) b % 64, ==, 0);
  g_assert_true (b >= a + 10);

  sm_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.arenas, ==, 1);
  g_assert_cmpuint (stats.blocks, ==, 0);
  g_assert_cmpuint (stats.reserved, ==, 2 * PAGE);
  g_assert_cmpuint (stats.in_use, ==, 64 + 100);

  /* Full: NULL and a counted failure, never memory past the arena. */
  g_assert_null (sm_pool_arena_alloc (arena, 2 * PAGE));
  g_assert_null (sm_pool_arena_alloc (arena, G_MAXSIZE - 10));
  sm_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.failures, ==, 2);

  /* Reset frees everything at once. */
  sm_pool_arena_reset (arena);
  g_assert_true (sm_pool_arena_alloc (arena, 2 * PAGE) == (gpointer) a);
  sm_pool_arena_reset (arena);

  /* An arena larger than the pool is refused like any block. */
  g_assert_null (sm_pool_arena_new (pool, 64 * PAGE, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NO_MEMORY);

  sm_pool_arena_free (arena);
  sm_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.arenas, ==, 0);
  g_assert_cmpuint (stats.allocations, ==, 4);   /* the arena itself, a, b, the full-size one */
  g_assert_cmpuint (stats.failures, ==, 3);
}

/* ---- property test: random operations against a model of the page map ---- */

typedef struct
{
  SmPoolBlock *block;
  guint8       value;
} Live;

static void
model_check (SmPool  *pool,
             GArray  *live,
             guint    npages)
{
  g_autofree gboolean *used = g_new0 (gboolean, npages);
  guint free_pages = 0, runs = 0, largest = 0, run = 0;
  SmPoolStats stats;

  for (guint i = 0; i < live->len; i++)
    {
      SmPoolBlock *block = g_array_index (live, Live, i).block;
      gsize first = sm_pool_block_get_offset (block) / PAGE;
      gsize n = MAX (1, (sm_pool_block_get_size (block) + PAGE - 1) / PAGE);

      g_assert_cmpuint (first + n, <=, npages);
      for (gsize p = first; p < first + n; p++)
        {
          g_assert_false (used[p]);   /* no two blocks share a page */
          used[p] = TRUE;
        }
    }

  for (guint p = 0; p <= npages; p++)
    {
      if (p < npages && !used[p])
        {
          free_pages++;
          run++;
          continue;
        }
      if (run > 0)
        runs++;
      largest = MAX (largest, run);
      run = 0;
    }

  sm_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.total_free, ==, (gsize) free_pages * PAGE);
  g_assert_cmpuint (stats.largest_free_run, ==, (gsize) largest * PAGE);
  g_assert_cmpuint (stats.free_runs, ==, runs);
  g_assert_cmpuint (stats.blocks, ==, live->len);
}

static void
test_pool_random_against_model (void)
{
  const guint npages = 200;
  g_autoptr(SmPool) pool = sm_pool_new (npages * PAGE, NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261126);
  g_autoptr(GArray) live = g_array_new (FALSE, FALSE, sizeof (Live));
  guint refused = 0, compactions = 0;

  for (guint step = 0; step < 20000; step++)
    {
      guint op = g_rand_int_range (rand, 0, 100);

      if (op < 55)
        {
          gsize size = g_rand_int_range (rand, 1, 24 * PAGE);
          g_autoptr(GError) error = NULL;
          SmPoolStats stats;
          Live l;

          sm_pool_get_stats (pool, &stats);
          l.block = sm_pool_alloc (pool, size, &error);
          /* The pool refuses exactly when no free run can hold the request. */
          if (l.block == NULL)
            {
              g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NO_MEMORY);
              g_assert_cmpuint (stats.largest_free_run, <, size);
              refused++;
              continue;
            }
          g_assert_cmpuint (stats.largest_free_run, >=, size);
          l.value = (guint8) g_rand_int (rand);
          fill (l.block, l.value);
          g_array_append_val (live, l);
        }
      else if (op < 99 && live->len > 0)
        {
          guint i = g_rand_int_range (rand, 0, live->len);
          Live *l = &g_array_index (live, Live, i);

          g_assert_true (holds (l->block, l->value));
          sm_pool_block_free (l->block);
          g_array_remove_index_fast (live, i);
        }
      else
        {
          sm_pool_compact (pool);
          compactions++;
        }

      model_check (pool, live, npages);
    }

  /* The run went through both full and fragmented states. */
  g_assert_cmpuint (refused, >, 100);
  g_assert_cmpuint (compactions, >, 50);

  for (guint i = 0; i < live->len; i++)
    {
      g_assert_true (holds (g_array_index (live, Live, i).block, g_array_index (live, Live, i).value));
      sm_pool_block_free (g_array_index (live, Live, i).block);
    }
  assert_figures (pool, npages, npages, 1);
}

static gpointer
churn_thread (gpointer data)
{
  SmPool *pool = data;
  GRand *rand = g_rand_new ();
  SmPoolBlock *mine[8] = { NULL };

  for (int i = 0; i < 20000; i++)
    {
      int slot = g_rand_int_range (rand, 0, 8);

      if (mine[slot] != NULL)
        {
          g_assert_true (holds (mine[slot], (guint8) slot));
          g_clear_pointer (&mine[slot], sm_pool_block_free);
        }
      else if ((mine[slot] = sm_pool_alloc (pool, g_rand_int_range (rand, 1, 3 * PAGE), NULL)) != NULL)
        fill (mine[slot], (guint8) slot);
    }
  for (int slot = 0; slot < 8; slot++)
    sm_pool_block_free (mine[slot]);
  g_rand_free (rand);

  return NULL;
}

static void
test_pool_threads (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (64 * PAGE, NULL);
  GThread *threads[4];
  SmPoolStats stats;

  for (int i = 0; i < 4; i++)
    threads[i] = g_thread_new ("churn", churn_thread, pool);
  for (int i = 0; i < 4; i++)
    g_thread_join (threads[i]);

  sm_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.blocks, ==, 0);
  g_assert_cmpuint (stats.reserved, ==, 0);
  g_assert_cmpuint (stats.free_runs, ==, 1);
  g_assert_cmpuint (stats.peak_reserved, >, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/pool/fragmentation-layouts", test_pool_fragmentation_layouts);
  g_test_add_func ("/engine/pool/limit", test_pool_limit);
  g_test_add_func ("/engine/pool/set-limit", test_pool_set_limit);
  g_test_add_func ("/engine/pool/compact", test_pool_compact);
  g_test_add_func ("/engine/pool/arena", test_pool_arena);
  g_test_add_func ("/engine/pool/random-against-model", test_pool_random_against_model);
  g_test_add_func ("/engine/pool/threads", test_pool_threads);

  return g_test_run ();
}
