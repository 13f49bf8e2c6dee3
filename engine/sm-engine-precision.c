/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#define G_LOG_DOMAIN "sm-engine"

#include <glib/gi18n-lib.h>
#include <math.h>

#include "sm-engine-private.h"
#include "sm-error.h"
#include "sm-features.h"

/* The weights' precision: what each costs a model, measured when it is
 * loaded, and the knob. */

/* The calibration batch: queries of every domain, as features. */
#define CALIBRATION_ROWS 48

static const char * const calibration_texts[] = {
  "prove that the square root of two is irrational",
  "why does the moon look larger near the horizon",
  "if all cats are mammals and some mammals swim, do some cats swim",
  "write a python function that reverses a linked list",
  "fix the segmentation fault in this c loop over an array",
  "explain the difference between a mutex and a semaphore",
  "translate good morning, how are you into french",
  "summarise the plot of hamlet in three sentences",
  "what is the past tense of the verb to swim",
  "integrate x squared from zero to one",
  "solve 3x + 7 = 22 for x",
  "what is the derivative of sin x times cos x",
  "search the web for the weather in lisbon tomorrow",
  "call the calendar api and book a meeting at ten",
  "run the sql query select count(*) from orders",
  "as i said before, the earlier answer about the budget",
  "continuing our conversation about the trip to japan",
  "given the document above, what did the author conclude",
};

/* A copy of @expert in f32, from the pool: the measurement converts and
 * runs the copy, so the expert in service is only read (workers go on). */
static SmExpert *
copy_expert (SmExpert *expert,
             SmPool   *pool)
{
  guint n = sm_expert_get_n_layers (expert);
  g_autofree SmLayerShape *shapes = g_new (SmLayerShape, n);
  g_autofree float **weights = g_new0 (float *, n);
  g_autofree float **biases = g_new0 (float *, n);
  SmExpert *copy;

  for (guint l = 0; l < n; l++)
    {
      shapes[l] = *sm_expert_get_layer (expert, l);
      weights[l] = g_new (float, (gsize) shapes[l].in * shapes[l].out);
      biases[l] = g_new (float, shapes[l].out);
      sm_expert_copy_layer (expert, l, weights[l], biases[l]);
    }
  copy = sm_expert_new (pool, n, shapes, (const float * const *) weights, (const float * const *) biases, NULL);
  for (guint l = 0; l < n; l++)
    {
      g_free (weights[l]);
      g_free (biases[l]);
    }
  return copy;
}

static void
measure_expert (SmExpert         *expert,
                const SmKernels  *kernels,
                SmPool           *pool,
                double            max_abs[SM_PRECISION_N_KINDS],
                double            max_rel[SM_PRECISION_N_KINDS],
                gboolean          failed[SM_PRECISION_N_KINDS])
{
  g_autoptr(SmExpert) copy = copy_expert (expert, pool);
  guint in = sm_expert_get_input_width (expert), out = sm_expert_get_output_width (expert);
  g_autofree float *x = NULL, *reference = NULL, *y = NULL;
  float *scratch;
  double top = 0;

  if (copy == NULL)
    {
      for (SmPrecision p = SM_PRECISION_BF16; p < SM_PRECISION_N_KINDS; p++)
        failed[p] = TRUE;
      return;
    }
  x = g_new (float, (gsize) CALIBRATION_ROWS * in);
  reference = g_new (float, (gsize) CALIBRATION_ROWS * out);
  y = g_new (float, (gsize) CALIBRATION_ROWS * out);
  scratch = g_aligned_alloc (sm_expert_scratch_floats (copy, CALIBRATION_ROWS), sizeof (float), 64);
  for (guint r = 0; r < CALIBRATION_ROWS; r++)
    {
      g_autofree char *text = g_strdup_printf ("%s (%u)", calibration_texts[r % G_N_ELEMENTS (calibration_texts)], r);

      sm_features_extract (text, -1, x + (gsize) r * in, in, NULL);
    }
  sm_expert_forward (copy, kernels, x, CALIBRATION_ROWS, reference, scratch);
  for (gsize i = 0; i < (gsize) CALIBRATION_ROWS * out; i++)
    top = MAX (top, fabs (reference[i]));

  for (SmPrecision p = SM_PRECISION_BF16; p < SM_PRECISION_N_KINDS; p++)
    {
      double worst = 0;

      if (!sm_expert_set_precision (copy, p, pool, NULL))
        {
          failed[p] = TRUE;
          continue;
        }
      sm_expert_forward (copy, kernels, x, CALIBRATION_ROWS, y, scratch);
      for (gsize i = 0; i < (gsize) CALIBRATION_ROWS * out; i++)
        worst = MAX (worst, fabs ((double) y[i] - reference[i]));
      max_abs[p] = MAX (max_abs[p], worst);
      max_rel[p] = MAX (max_rel[p], top > 0 ? worst / top : 0);
    }
  g_aligned_free (scratch);
}

/* Measures every reduced precision on @model and records the errors in
 * it.  Done when first asked for, not when a model loads: a start that
 * never looks at precision (most) does not pay for it. */
static void
measure_model (SmEngine *engine,
               SmModel  *model)
{
  const SmKernels *kernels = sm_engine_current_kernels (engine);
  double max_abs[SM_PRECISION_N_KINDS] = { 0 }, max_rel[SM_PRECISION_N_KINDS] = { 0 };
  gboolean failed[SM_PRECISION_N_KINDS] = { FALSE };

  for (guint d = 0; d < SM_N_DOMAINS; d++)
    {
      SmExpert *expert = sm_model_get_expert (model, d);

      if (expert != NULL && (d == 0 || !sm_model_is_single_expert (model)))
        measure_expert (expert, kernels, engine->pool, max_abs, max_rel, failed);
    }
  sm_model_set_precision_error (model, SM_PRECISION_F32, &(SmPrecisionError) { 0, 0 });
  for (SmPrecision p = SM_PRECISION_BF16; p < SM_PRECISION_N_KINDS; p++)
    if (!failed[p])
      sm_model_set_precision_error (model, p, &(SmPrecisionError) { max_abs[p], max_rel[p] });
}

gboolean
sm_engine_prepare_model_precision (SmEngine  *engine,
                                   SmModel   *model,
                                   GError   **error)
{
  SmPrecision precision = g_atomic_int_get (&engine->precision);

  if (!sm_model_set_precision (model, precision, engine->pool, error))
    {
      g_prefix_error (error, _("The engine runs %s weights: "), sm_precision_get_name (precision));
      return FALSE;
    }
  return TRUE;
}

gboolean
sm_engine_set_precision (SmEngine     *engine,
                         SmPrecision   precision,
                         GError      **error)
{
  gboolean ok = TRUE;

  g_return_val_if_fail (precision < SM_PRECISION_N_KINDS, FALSE);

  /* The weights change under every worker's feet: none may run a batch. */
  sm_rw_lock_writer_lock (&engine->model_lock);
  if (engine->model != NULL)
    ok = sm_model_set_precision (engine->model, precision, engine->pool, error);
  if (ok)
    g_atomic_int_set (&engine->precision, precision);
  /* Weights in reduced precision may meet the tensor cores. */
  if (ok && engine->gpu_model != NULL)
    sm_engine_gpu_allow_reduced (engine->gpu_model, precision != SM_PRECISION_F32);
  sm_rw_lock_writer_unlock (&engine->model_lock);

  /* Answers in another precision differ: start afresh. */
  if (ok)
    sm_result_cache_clear (engine);
  return ok;
}

SmPrecision
sm_engine_get_precision (SmEngine *engine)
{
  return g_atomic_int_get (&engine->precision);
}

gboolean
sm_engine_get_precision_error (SmEngine         *engine,
                               SmPrecision       precision,
                               SmPrecisionError *error)
{
  g_return_val_if_fail (precision < SM_PRECISION_N_KINDS, FALSE);

  *error = (SmPrecisionError) { NAN, NAN };
  /* The model is only read (measure_model() runs copies), so workers go
   * on; the costs recorded in it are written under precision_lock. */
  g_mutex_lock (&engine->precision_lock);
  sm_rw_lock_reader_lock (&engine->model_lock);
  if (engine->model != NULL)
    {
      SmPrecisionError f32;

      sm_model_get_precision_error (engine->model, SM_PRECISION_F32, &f32);
      if (isnan (f32.max_abs))
        measure_model (engine, engine->model);
      sm_model_get_precision_error (engine->model, precision, error);
    }
  sm_rw_lock_reader_unlock (&engine->model_lock);
  g_mutex_unlock (&engine->precision_lock);

  return !isnan (error->max_abs);
}
