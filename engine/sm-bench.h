/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A benchmark report as DESIGN.md ("Benchmark output") defines it: one JSON
 * object per area, every figure with the baseline it was compared with in
 * the same run, and every target with whether it is met here. */
typedef struct _SmBenchReport SmBenchReport;

SmBenchReport *sm_bench_report_new        (const char    *area);
void           sm_bench_report_free       (SmBenchReport *report);

/* Adds a figure.  @params is a "key=value key=value" list (values that
 * parse as numbers become JSON numbers).  Returns its index, by which later
 * results name it as their baseline. */
guint          sm_bench_report_add        (SmBenchReport *report,
                                           const char    *name,
                                           const char    *params,
                                           double         value,
                                           const char    *unit);

/* Adds a figure with an absolute target on its value (e.g. "<= 5" ns). */
guint          sm_bench_report_add_target (SmBenchReport *report,
                                           const char    *name,
                                           const char    *params,
                                           double         value,
                                           const char    *unit,
                                           const char    *target);

/* Adds a figure compared with result @baseline: the ratio is value /
 * baseline value; @target (e.g. ">= 1.2", NULL for none) is checked against
 * the ratio. */
guint          sm_bench_report_compare    (SmBenchReport *report,
                                           const char    *name,
                                           const char    *params,
                                           double         value,
                                           const char    *unit,
                                           guint          baseline,
                                           const char    *target);

char          *sm_bench_report_to_json    (SmBenchReport *report);
char          *sm_bench_report_to_table   (SmBenchReport *report);

/* How many targets were checked and how many of them hold. */
void           sm_bench_report_count_met  (SmBenchReport *report,
                                           guint         *targets,
                                           guint         *met);

/* Monotonic time in seconds, for timing loops. */
double         sm_bench_now               (void);

typedef void (*SmBenchFunc) (gpointer data);

/* The best time, in seconds, of one call of @func over repetitions lasting
 * about 0.2 s in all (at least 3): the usual choice on a shared machine,
 * where noise only ever slows a run down.  Short calls are batched so that
 * each timed sample lasts ≥ 50 µs and the clock's own cost does not count. */
double         sm_bench_time_best         (SmBenchFunc    func,
                                           gpointer       data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmBenchReport, sm_bench_report_free)

G_END_DECLS
