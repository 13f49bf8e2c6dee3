/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <pthread.h>
#include <glib.h>

G_BEGIN_DECLS

/* A reader-writer lock under which a waiting writer goes before readers
 * that come after it.  GRWLock is glibc's default kind, which prefers
 * readers: with worker threads each holding the read lock for a batch,
 * one after the other, on a loaded machine (more workers than cores, a
 * sanitizer), a model swap waited for minutes.  No read section takes
 * the lock again inside itself with a wait, as this kind requires: a
 * worker with a batch on the GPU takes it for its next batch only with
 * sm_rw_lock_reader_trylock(). */
typedef struct
{
  pthread_rwlock_t lock;
} SmRwLock;

static inline void
sm_rw_lock_init (SmRwLock *rw)
{
  pthread_rwlockattr_t attr;

  pthread_rwlockattr_init (&attr);
#ifdef __GLIBC__
  pthread_rwlockattr_setkind_np (&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
  if (pthread_rwlock_init (&rw->lock, &attr) != 0)
    g_error ("Cannot make a reader-writer lock");
  pthread_rwlockattr_destroy (&attr);
}

static inline void
sm_rw_lock_clear (SmRwLock *rw)
{
  pthread_rwlock_destroy (&rw->lock);
}

static inline void
sm_rw_lock_reader_lock (SmRwLock *rw)
{
  /* Fails only for a lock never initialised or taken too often at once. */
  if (G_UNLIKELY (pthread_rwlock_rdlock (&rw->lock) != 0))
    g_error ("Cannot take a reader-writer lock for reading");
}

/* Takes the lock for reading unless that would wait: FALSE while a writer
 * holds it or waits for it. */
static inline gboolean
sm_rw_lock_reader_trylock (SmRwLock *rw)
{
  return pthread_rwlock_tryrdlock (&rw->lock) == 0;
}

static inline void
sm_rw_lock_reader_unlock (SmRwLock *rw)
{
  pthread_rwlock_unlock (&rw->lock);
}

static inline void
sm_rw_lock_writer_lock (SmRwLock *rw)
{
  if (G_UNLIKELY (pthread_rwlock_wrlock (&rw->lock) != 0))
    g_error ("Cannot take a reader-writer lock for writing");
}

static inline void
sm_rw_lock_writer_unlock (SmRwLock *rw)
{
  pthread_rwlock_unlock (&rw->lock);
}

G_END_DECLS
