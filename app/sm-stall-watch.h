/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gdk/gdk.h>

G_BEGIN_DECLS

/* Measures how late the main loop runs a 4 ms timer, from 5 s after it
 * starts: the longest delay is the longest stall the user could have felt;
 * and, given a window's frame clock, how long each frame took from
 * "before-paint" to "after-paint" (over 16 ms is a frame missed at 60 Hz).
 * SYNMESH_STALL_WATCH=1 makes the app run one and print the figures when
 * it quits. */

typedef struct _SmStallWatch SmStallWatch;

SmStallWatch *sm_stall_watch_new    (void);
void          sm_stall_watch_add_frame_clock (SmStallWatch  *watch,
                                              GdkFrameClock *clock);
/* Prints the longest stall, the 99th-percentile lateness and the samples. */
void          sm_stall_watch_report (SmStallWatch *watch);
void          sm_stall_watch_free   (SmStallWatch *watch);

G_END_DECLS
