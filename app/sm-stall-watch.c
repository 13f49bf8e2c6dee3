/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>

#include "sm-stall-watch.h"
#include "sm-stats.h"

#define PERIOD_MS 4
#define SAMPLES   65536
/* Start-up (CSS, fonts, the first frames) is not what this measures. */
#define WARMUP_US (5 * G_USEC_PER_SEC)

struct _SmStallWatch
{
  guint   source;
  gint64  start;
  gint64  due;
  guint   n;
  gint64  max_late;
  guint32 late_us[SAMPLES];

  gint64  frame_start;     /* 0 outside a frame */
  guint   n_frames;
  gint64  max_frame;
  guint32 frame_us[SAMPLES];
};

static gboolean
tick_cb (gpointer data)
{
  SmStallWatch *watch = data;
  gint64 now = g_get_monotonic_time ();
  gint64 late = MAX (0, now - watch->due);

  watch->due = now + PERIOD_MS * 1000;
  if (now - watch->start < WARMUP_US)
    return G_SOURCE_CONTINUE;
  watch->max_late = MAX (watch->max_late, late);
  watch->late_us[watch->n++ % SAMPLES] = (guint32) MIN (late, G_MAXUINT32);
  return G_SOURCE_CONTINUE;
}

SmStallWatch *
sm_stall_watch_new (void)
{
  SmStallWatch *watch = g_new0 (SmStallWatch, 1);

  watch->start = g_get_monotonic_time ();
  watch->due = watch->start + PERIOD_MS * 1000;
  watch->source = g_timeout_add (PERIOD_MS, tick_cb, watch);
  return watch;
}

static void
before_paint_cb (GdkFrameClock *clock,
                 SmStallWatch  *watch)
{
  watch->frame_start = g_get_monotonic_time ();
}

static void
after_paint_cb (GdkFrameClock *clock,
                SmStallWatch  *watch)
{
  gint64 now = g_get_monotonic_time ();
  gint64 took = now - watch->frame_start;

  if (watch->frame_start == 0 || now - watch->start < WARMUP_US)
    return;
  watch->frame_start = 0;
  watch->max_frame = MAX (watch->max_frame, took);
  watch->frame_us[watch->n_frames++ % SAMPLES] = (guint32) MIN (took, G_MAXUINT32);
}

void
sm_stall_watch_add_frame_clock (SmStallWatch  *watch,
                                GdkFrameClock *clock)
{
  /* The clock outlives the watch only as long as the window does; the
   * watch is freed at shutdown, after every window. */
  g_signal_connect (clock, "before-paint", G_CALLBACK (before_paint_cb), watch);
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), watch);
}

static int
compare_u32 (const void *a,
             const void *b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;

  return x < y ? -1 : x > y;
}

void
sm_stall_watch_report (SmStallWatch *watch)
{
  guint n = MIN (watch->n, SAMPLES);

  if (n == 0)
    return;
  qsort (watch->late_us, n, sizeof watch->late_us[0], compare_u32);
  g_printerr ("main loop: %u ticks, lateness p99 %.2f ms, longest stall %.2f ms\n", watch->n,
              watch->late_us[sm_stats_nearest_rank (n, 99) - 1] / 1e3, watch->max_late / 1e3);
  n = MIN (watch->n_frames, SAMPLES);
  if (n == 0)
    return;
  qsort (watch->frame_us, n, sizeof watch->frame_us[0], compare_u32);
  g_printerr ("frames: %u, p99 %.2f ms, longest %.2f ms\n", watch->n_frames,
              watch->frame_us[sm_stats_nearest_rank (n, 99) - 1] / 1e3, watch->max_frame / 1e3);
}

void
sm_stall_watch_free (SmStallWatch *watch)
{
  if (watch == NULL)
    return;
  g_source_remove (watch->source);
  g_free (watch);
}
