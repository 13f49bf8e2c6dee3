/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-engine"

#include "sm-engine-private.h"

/* The result cache: an LRU of answers keyed by the query text's hash, so a
 * repeated query skips features, routing and the model.  Cleared whenever
 * the answers could change (another model, other kernels). */

void
sm_result_free (SmResult *result)
{
  if (result == NULL)
    return;
  /* The engine's results carry their output inline; copies do not. */
  if (result->output != (float *) (result + 1))
    g_free (result->output);
  g_free (result);
}

static SmResult *
result_copy (const SmResult *result)
{
  SmResult *copy = g_memdup2 (result, sizeof *result);

  copy->output = g_memdup2 (result->output, result->output_width * sizeof (float));
  return copy;
}

void
sm_result_cache_entry_free (gpointer data)
{
  CacheEntry *entry = data;

  g_free (entry->result.output);
  g_free (entry);
}

static void
result_cache_clear_locked (SmEngine *engine)
{
  g_hash_table_remove_all (engine->cache);
  g_queue_clear (&engine->cache_order);
}

void
sm_result_cache_clear (SmEngine *engine)
{
  g_mutex_lock (&engine->cache_lock);
  result_cache_clear_locked (engine);
  g_mutex_unlock (&engine->cache_lock);
}

SmResult *
sm_result_cache_lookup (SmEngine *engine,
                        guint64   key)
{
  SmResult *result = NULL;
  CacheEntry *entry;

  /* With the cache off, no lock is shared by every query. */
  if (g_atomic_int_get (&engine->cache_size) == 0)
    return NULL;

  g_mutex_lock (&engine->cache_lock);
  if (engine->cache_size > 0)
    {
      __atomic_fetch_add (&engine->cache_lookups, 1, __ATOMIC_RELAXED);
      entry = g_hash_table_lookup (engine->cache, &key);
      if (entry != NULL)
        {
          __atomic_fetch_add (&engine->cache_hits, 1, __ATOMIC_RELAXED);
          g_queue_unlink (&engine->cache_order, entry->link);
          g_queue_push_head_link (&engine->cache_order, entry->link);
          result = result_copy (&entry->result);
        }
    }
  g_mutex_unlock (&engine->cache_lock);

  return result;
}

void
sm_result_cache_insert (SmEngine       *engine,
                        guint64         key,
                        const SmResult *result)
{
  CacheEntry *entry;

  if (g_atomic_int_get (&engine->cache_size) == 0)
    return;

  g_mutex_lock (&engine->cache_lock);
  if (engine->cache_size > 0 && !g_hash_table_contains (engine->cache, &key))
    {
      while (g_hash_table_size (engine->cache) >= engine->cache_size)
        {
          CacheEntry *oldest = g_queue_peek_tail (&engine->cache_order);

          g_queue_pop_tail (&engine->cache_order);
          g_hash_table_remove (engine->cache, &oldest->key);
        }
      entry = g_new0 (CacheEntry, 1);
      entry->key = key;
      entry->result = *result;
      entry->result.output = g_memdup2 (result->output, result->output_width * sizeof (float));
      g_queue_push_head (&engine->cache_order, entry);
      entry->link = engine->cache_order.head;
      g_hash_table_insert (engine->cache, &entry->key, entry);
    }
  g_mutex_unlock (&engine->cache_lock);
}

void
sm_engine_set_cache_size (SmEngine *engine,
                          guint     entries)
{
  g_mutex_lock (&engine->cache_lock);
  g_atomic_int_set (&engine->cache_size, entries);
  while (g_hash_table_size (engine->cache) > entries)
    {
      CacheEntry *oldest = g_queue_pop_tail (&engine->cache_order);

      g_hash_table_remove (engine->cache, &oldest->key);
    }
  g_mutex_unlock (&engine->cache_lock);
}

guint
sm_engine_get_cache_size (SmEngine *engine)
{
  guint size;

  g_mutex_lock (&engine->cache_lock);
  size = engine->cache_size;
  g_mutex_unlock (&engine->cache_lock);

  return size;
}
