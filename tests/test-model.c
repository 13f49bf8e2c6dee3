/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include "corpus-test-util.h"
#include "sm-error.h"
#include "sm-model.h"
#include "sm-safetensors.h"
#include "sm-simd.h"

/* A double-precision forward through @expert, from its unpacked weights. */
static void
reference_forward (SmExpert    *expert,
                   const float *input,
                   double      *output)
{
  guint width = sm_expert_get_max_width (expert) + sm_expert_get_input_width (expert);
  g_autofree double *a = g_new (double, width), *b = g_new (double, width);

  for (guint i = 0; i < sm_expert_get_input_width (expert); i++)
    a[i] = input[i];

  for (guint l = 0; l < sm_expert_get_n_layers (expert); l++)
    {
      const SmLayerShape *s = sm_expert_get_layer (expert, l);
      g_autofree float *w = g_new (float, (gsize) s->in * s->out);
      g_autofree float *bias = g_new (float, s->out);
      double max = -INFINITY, sum = 0;

      sm_expert_copy_layer (expert, l, w, bias);
      for (guint o = 0; o < s->out; o++)
        {
          double v = bias[o];

          for (guint i = 0; i < s->in; i++)
            v += (double) w[(gsize) o * s->in + i] * a[i];
          switch (s->act.kind)
            {
            case SM_ACT_RELU: v = v > 0 ? v : 0; break;
            case SM_ACT_LEAKY_RELU: v = v < 0 ? s->act.alpha * v : v; break;
            case SM_ACT_SIGMOID: v = 1 / (1 + exp (-v)); break;
            case SM_ACT_TANH: v = tanh (v); break;
            case SM_ACT_GELU: v = 0.5 * v * (1 + tanh (sqrt (2 / G_PI) * (v + 0.044715 * v * v * v))); break;
            case SM_ACT_IDENTITY:
            case SM_ACT_SOFTMAX:
            case SM_ACT_N_KINDS:
            default: break;
            }
          b[o] = v;
          max = MAX (max, v);
        }
      if (s->act.kind == SM_ACT_SOFTMAX)
        {
          for (guint o = 0; o < s->out; o++)
            sum += exp (b[o] - max);
          for (guint o = 0; o < s->out; o++)
            b[o] = exp (b[o] - max) / sum;
        }
      memcpy (a, b, s->out * sizeof (double));
    }

  memcpy (output, a, sm_expert_get_output_width (expert) * sizeof (double));
}

/* Runs @batch random rows through every kernel set available and checks
 * them against the double reference: relative error ≤ 1e-5 of the output
 * scale. */
static void
check_expert (SmExpert *expert,
              guint     batch)
{
  guint in = sm_expert_get_input_width (expert), out = sm_expert_get_output_width (expert);
  g_autoptr(GRand) rand = g_rand_new_with_seed (in * 31 + out);
  g_autofree float *x = g_new (float, (gsize) batch * in);
  g_autofree float *y = g_new (float, (gsize) batch * out);
  g_autofree double *ref = g_new (double, (gsize) batch * out);
  float *scratch = g_aligned_alloc (sm_expert_scratch_floats (expert, batch), sizeof (float), 64);

  for (gsize i = 0; i < (gsize) batch * in; i++)
    x[i] = (float) g_rand_double_range (rand, -1, 1);
  for (guint r = 0; r < batch; r++)
    reference_forward (expert, x + (gsize) r * in, ref + (gsize) r * out);

  for (SmSimdLevel level = 0; level < SM_SIMD_N_LEVELS; level++)
    {
      const SmKernels *kernels = sm_simd_get_kernels_for (level, NULL);
      double scale = 0, worst = 0;

      if (kernels == NULL)
        continue;
      sm_expert_forward (expert, kernels, x, batch, y, scratch);
      for (gsize i = 0; i < (gsize) batch * out; i++)
        scale = MAX (scale, fabs (ref[i]));
      for (gsize i = 0; i < (gsize) batch * out; i++)
        worst = MAX (worst, fabs (y[i] - ref[i]) / scale);
      g_test_message ("%s %u→…→%u batch %u: worst relative error %.2g", kernels->name, in, out, batch, worst);
      g_assert_cmpfloat (worst, <=, 1e-5);
    }

  g_aligned_free (scratch);
}

static void
test_model_presets (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);

  for (SmPreset preset = SM_PRESET_MICRO; preset <= SM_PRESET_STANDARD; preset++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SmModel) model = sm_model_new_preset (preset, pool, &error);

      g_assert_no_error (error);
      for (SmDomain d = 0; d < SM_N_DOMAINS; d++)
        {
          check_expert (sm_model_get_expert (model, d), 1);
          check_expert (sm_model_get_expert (model, d), 7);
        }
    }
}

/* The large preset needs a larger pool (127 MiB of weights). */
static void
test_model_large_preset (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (160 * 1024 * 1024, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SmModel) model = sm_model_new_preset (SM_PRESET_LARGE, pool, &error);

  g_assert_no_error (error);
  for (SmDomain d = 0; d < SM_N_DOMAINS; d++)
    {
      g_assert_cmpuint (sm_expert_get_input_width (sm_model_get_expert (model, d)), ==, 512);
      check_expert (sm_model_get_expert (model, d), 1);
    }
}

static void
test_model_preset_shapes (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  g_autoptr(SmModel) micro = sm_model_new_preset (SM_PRESET_MICRO, pool, NULL);
  g_autoptr(SmModel) standard = NULL;
  SmExpert *coding = sm_model_get_expert (micro, SM_DOMAIN_CODING);
  SmPoolStats stats;

  g_assert_cmpuint (sm_expert_get_n_layers (coding), ==, 3);
  g_assert_cmpuint (sm_expert_get_input_width (coding), ==, 192);
  g_assert_cmpuint (sm_expert_get_layer (coding, 1)->out, ==, 48);
  g_assert_cmpint (sm_expert_get_layer (coding, 0)->act.kind, ==, SM_ACT_RELU);
  g_assert_cmpint (sm_expert_get_layer (coding, 2)->act.kind, ==, SM_ACT_IDENTITY);
  g_assert_cmpuint (sm_expert_get_flops (coding), ==, 2 * (192 * 96 + 96 * 48 + 48 * 48));
  g_clear_pointer (&micro, sm_model_free);

  /* The standard preset fits the default pool with room to spare. */
  standard = sm_model_new_preset (SM_PRESET_STANDARD, pool, NULL);
  sm_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.reserved, <, 12 * 1024 * 1024);
}

/* The same seed gives the same model, bit for bit. */
static void
test_model_deterministic (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  g_autoptr(SmModel) a = sm_model_new_preset (SM_PRESET_MICRO, pool, NULL);
  g_autoptr(SmModel) b = sm_model_new_preset (SM_PRESET_MICRO, pool, NULL);

  for (SmDomain d = 0; d < SM_N_DOMAINS; d++)
    {
      SmExpert *ea = sm_model_get_expert (a, d), *eb = sm_model_get_expert (b, d);
      const SmLayerShape *s = sm_expert_get_layer (ea, 0);
      g_autofree float *wa = g_new (float, s->in * s->out), *wb = g_new (float, s->in * s->out);
      g_autofree float *ba = g_new (float, s->out), *bb = g_new (float, s->out);

      sm_expert_copy_layer (ea, 0, wa, ba);
      sm_expert_copy_layer (eb, 0, wb, bb);
      g_assert_cmpmem (wa, s->in * s->out * sizeof (float), wb, s->in * s->out * sizeof (float));
      g_assert_cmpmem (ba, s->out * sizeof (float), bb, s->out * sizeof (float));
    }
}

/* Odd widths and every activation, against the reference. */
static void
test_model_odd_shapes (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  SmLayerShape shapes[6] = {
    { 17, 33, { SM_ACT_GELU, 0 } }, { 33, 7, { SM_ACT_TANH, 0 } }, { 7, 129, { SM_ACT_LEAKY_RELU, 0.1f } },
    { 129, 300, { SM_ACT_SIGMOID, 0 } }, { 300, 5, { SM_ACT_RELU, 0 } }, { 5, 11, { SM_ACT_SOFTMAX, 0 } },
  };
  float *weights[6], *biases[6];
  g_autoptr(GError) error = NULL;
  g_autoptr(SmExpert) expert = NULL;

  for (int l = 0; l < 6; l++)
    {
      weights[l] = g_new (float, shapes[l].in * shapes[l].out);
      biases[l] = g_new (float, shapes[l].out);
      for (guint i = 0; i < shapes[l].in * shapes[l].out; i++)
        weights[l][i] = (float) g_rand_double_range (rand, -0.5, 0.5);
      for (guint i = 0; i < shapes[l].out; i++)
        biases[l][i] = (float) g_rand_double_range (rand, -0.5, 0.5);
    }
  expert = sm_expert_new (pool, 6, shapes, (const float * const *) weights, (const float * const *) biases, &error);
  g_assert_no_error (error);
  check_expert (expert, 1);
  check_expert (expert, 13);

  for (int l = 0; l < 6; l++)
    {
      g_free (weights[l]);
      g_free (biases[l]);
    }
}

static void
test_model_errors (void)
{
  g_autoptr(SmPool) small = sm_pool_new (64 * 1024, NULL);
  g_autoptr(SmPool) pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  g_autoptr(GError) error = NULL;
  SmLayerShape shapes[2] = { { 4, 3, { SM_ACT_RELU, 0 } }, { 2, 1, { SM_ACT_IDENTITY, 0 } } };
  float w0[12] = { 0 }, w1[2] = { 0 };
  const float *weights[2] = { w0, w1 };
  SmPoolStats stats;

  /* Shapes that do not chain. */
  g_assert_null (sm_expert_new (pool, 2, shapes, weights, NULL, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, "do not chain"));
  g_clear_error (&error);

  /* A NaN weight, named. */
  shapes[1].in = 3;
  w0[5] = NAN;
  g_assert_null (sm_expert_new (pool, 2, shapes, weights, NULL, &error));
  g_assert_nonnull (strstr (error->message, "weight value 5 is NaN"));
  g_clear_error (&error);

  /* A pool too small: a clear error, and the pool is left as it was. */
  g_assert_null (sm_model_new_preset (SM_PRESET_STANDARD, small, &error));
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_NO_MEMORY);
  g_assert_nonnull (strstr (error->message, "Preset standard"));
  sm_pool_get_stats (small, &stats);
  g_assert_cmpuint (stats.reserved, ==, 0);
}

/* ---- safetensors ---- */

static float
corpus_weight (guint o,
               guint i,
               double scale)
{
  return (float) ((double) ((o * 7 + i * 3) % 11) - 5) / 8 * scale;
}

/* The valid corpus files hold nn.Sequential(Linear(5, 4), ReLU(),
 * Linear(4, 3)) with the weights of make-safetensors-corpus.py. */
static void
check_corpus_sequential (SmModel    *model,
                         SmActKind   first,
                         SmActKind   second)
{
  SmExpert *expert = sm_model_get_expert (model, SM_DOMAIN_MATHEMATICS);
  const guint sizes[3] = { 5, 4, 3 };

  g_assert_true (sm_model_is_single_expert (model));
  g_assert_true (expert == sm_model_get_expert (model, SM_DOMAIN_REASONING));
  g_assert_cmpuint (sm_expert_get_n_layers (expert), ==, 2);
  g_assert_cmpint (sm_expert_get_layer (expert, 0)->act.kind, ==, first);
  g_assert_cmpint (sm_expert_get_layer (expert, 1)->act.kind, ==, second);

  for (guint l = 0; l < 2; l++)
    {
      float w[20], b[4];

      sm_expert_copy_layer (expert, l, w, b);
      for (guint o = 0; o < sizes[l + 1]; o++)
        {
          g_assert_cmpfloat (b[o], ==, corpus_weight (o, 0, 0.5));
          for (guint i = 0; i < sizes[l]; i++)
            g_assert_cmpfloat (w[o * sizes[l] + i], ==, corpus_weight (o, i, 1.0));
        }
    }
  check_expert (expert, 3);
}

typedef struct
{
  SmPool *pool;
  guint   valid;
  guint   malformed;
} CorpusCount;

static void
check_safetensors_seed (const char *path,
                        const char *seed,
                        const char *outcome,
                        gpointer    data)
{
  CorpusCount *count = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SmModel) model = sm_safetensors_load (path, count->pool, SM_PRECISION_F32, &error);

  if (g_str_equal (outcome, "ok"))
    {
      g_assert_no_error (error);
      count->valid++;
      if (g_str_has_prefix (seed, "sequential-f") || g_str_has_prefix (seed, "sequential-bf"))
        check_corpus_sequential (model, SM_ACT_RELU, SM_ACT_IDENTITY);
      else if (g_str_equal (seed, "sequential-metadata.safetensors"))
        check_corpus_sequential (model, SM_ACT_TANH, SM_ACT_SIGMOID);
      else
        {
          g_assert_false (sm_model_is_single_expert (model));
          g_assert_null (sm_model_get_expert (model, SM_DOMAIN_REASONING));
          g_assert_cmpuint (sm_expert_get_input_width (sm_model_get_expert (model, SM_DOMAIN_CONTEXT)), ==, 6);
          g_assert_cmpuint (sm_expert_get_output_width (sm_model_get_expert (model, SM_DOMAIN_CODING)), ==, 3);
        }
      return;
    }

  g_test_message ("%s: %s", seed, error ? error->message : "(loaded!)");
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_assert_null (model);
  g_assert_nonnull (strstr (error->message, outcome));
  /* The file is named, so that a person knows which one is bad. */
  g_assert_nonnull (strstr (error->message, seed));
  count->malformed++;
}

static void
test_safetensors_corpus (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  CorpusCount count = { pool, 0, 0 };
  SmPoolStats stats;

  corpus_foreach ("safetensors", check_safetensors_seed, &count);
  g_assert_cmpuint (count.valid, ==, 5);
  g_assert_cmpuint (count.malformed, >=, 25);

  /* Nothing a rejected file half-loaded stays in the pool. */
  sm_pool_get_stats (pool, &stats);
  g_assert_cmpuint (stats.reserved, ==, 0);
}

/* Every prefix of a valid file is rejected cleanly (ASan checks the reads). */
static void
test_safetensors_truncations (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "data", "safetensors", "sequential-f16.safetensors", NULL);
  g_autofree char *contents = NULL;
  gsize length;

  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  for (gsize cut = 0; cut < length; cut++)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (contents, cut);
      g_autoptr(GError) error = NULL;
      g_autoptr(SmModel) model = sm_safetensors_load_bytes (bytes, pool, SM_PRECISION_F32, &error);

      g_assert_null (model);
      g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
    }
}

static void
test_safetensors_round_trip (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  g_autoptr(SmModel) model = sm_model_new_preset (SM_PRESET_MICRO, pool, NULL);
  g_autoptr(SmModel) loaded = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("synmesh-model-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "micro.safetensors", NULL);
  const SmKernels *kernels = sm_simd_get_kernels ();

  g_assert_true (sm_safetensors_save (model, path, &error));
  g_assert_no_error (error);
  loaded = sm_safetensors_load (path, pool, SM_PRECISION_F32, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sm_model_get_description (loaded), ==, "preset micro");

  for (SmDomain d = 0; d < SM_N_DOMAINS; d++)
    {
      SmExpert *a = sm_model_get_expert (model, d), *b = sm_model_get_expert (loaded, d);
      guint in = sm_expert_get_input_width (a), out = sm_expert_get_output_width (a);
      g_autofree float *x = g_new (float, 3 * in);
      g_autofree float *ya = g_new (float, 3 * out), *yb = g_new (float, 3 * out);
      float *scratch = g_aligned_alloc (sm_expert_scratch_floats (a, 3), sizeof (float), 64);

      g_assert_cmpuint (sm_expert_get_n_layers (a), ==, sm_expert_get_n_layers (b));
      for (guint i = 0; i < 3 * in; i++)
        x[i] = (float) i / in - 1.0f;
      sm_expert_forward (a, kernels, x, 3, ya, scratch);
      sm_expert_forward (b, kernels, x, 3, yb, scratch);
      /* Same weights, same kernels: the same bits. */
      g_assert_cmpmem (ya, 3 * out * sizeof (float), yb, 3 * out * sizeof (float));
      g_aligned_free (scratch);
    }

  g_unlink (path);
  g_rmdir (dir);
}

/* A two-layer nn.Sequential in safetensors form, BF16 weights (@nan: one
 * of them NaN) and F32 biases. */
static GBytes *
bf16_sequential (GRand    *rand,
                 gboolean  nan)
{
  static const guint in[] = { 300, 200 }, out[] = { 200, 70 };
  g_autoptr(GString) header = g_string_new ("{");
  g_autoptr(GByteArray) data = g_byte_array_new ();
  g_autoptr(GByteArray) file = g_byte_array_new ();
  guint64 length;

  for (guint l = 0; l < 2; l++)
    {
      gsize start = data->len;

      for (guint i = 0; i < in[l] * out[l]; i++)
        {
          float value = (float) g_rand_double_range (rand, -0.1, 0.1);
          guint32 bits;
          guint16 half;

          memcpy (&bits, &value, sizeof bits);
          half = nan && l == 1 && i == 77 ? 0x7fc1 : (guint16) (bits >> 16);
          g_byte_array_append (data, (const guint8 *) &half, sizeof half);
        }
      g_string_append_printf (header, "%s\"%u.weight\":{\"dtype\":\"BF16\",\"shape\":[%u,%u],"
                              "\"data_offsets\":[%zu,%u]}", l > 0 ? "," : "", l, out[l], in[l], start, data->len);
      start = data->len;
      for (guint i = 0; i < out[l]; i++)
        {
          float value = (float) g_rand_double_range (rand, -0.5, 0.5);

          g_byte_array_append (data, (const guint8 *) &value, sizeof value);
        }
      g_string_append_printf (header, ",\"%u.bias\":{\"dtype\":\"F32\",\"shape\":[%u],"
                              "\"data_offsets\":[%zu,%u]}", l, out[l], start, data->len);
    }
  g_string_append_c (header, '}');
  length = GUINT64_TO_LE (header->len);
  g_byte_array_append (file, (const guint8 *) &length, sizeof length);
  g_byte_array_append (file, (const guint8 *) header->str, header->len);
  g_byte_array_append (file, data->data, data->len);
  return g_byte_array_free_to_bytes (g_steal_pointer (&file));
}

static gsize
pool_in_use (SmPool *pool)
{
  SmPoolStats stats;

  sm_pool_get_stats (pool, &stats);
  return stats.in_use;
}

/* Issue 18: a BF16 model loaded for bf16 keeps its weights as they are,
 * in half the memory, and answers, in every precision it is switched to,
 * exactly as the same file loaded in f32 and converted. */
static void
test_safetensors_bf16_without_widening (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  g_autoptr(GBytes) bytes = bf16_sequential (rand, FALSE);
  g_autoptr(GBytes) with_nan = bf16_sequential (rand, TRUE);
  g_autoptr(SmPool) wide_pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  g_autoptr(SmPool) narrow_pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(SmModel) wide = sm_safetensors_load_bytes (bytes, wide_pool, SM_PRECISION_F32, &error);
  g_autoptr(SmModel) narrow = NULL;
  const SmKernels *kernels = sm_simd_get_kernels ();
  SmExpert *a, *b;
  guint batch = 5;
  g_autofree float *x = g_new (float, batch * 300);
  g_autofree float *ya = g_new (float, batch * 70), *yb = g_new (float, batch * 70);
  g_autofree float *wa = g_new (float, 200 * 70), *wb = g_new (float, 200 * 70);
  float ba[70], bb[70];
  float *scratch;

  g_assert_no_error (error);
  narrow = sm_safetensors_load_bytes (bytes, narrow_pool, SM_PRECISION_BF16, &error);
  g_assert_no_error (error);
  a = sm_model_get_expert (wide, SM_DOMAIN_REASONING);
  b = sm_model_get_expert (narrow, SM_DOMAIN_REASONING);
  g_assert_cmpint (sm_expert_get_origin (a), ==, SM_PRECISION_F32);
  g_assert_cmpint (sm_expert_get_origin (b), ==, SM_PRECISION_BF16);
  g_assert_cmpint (sm_expert_get_precision (b), ==, SM_PRECISION_BF16);
  /* 74,000 weights: 296 KB in f32, 148 KB as loaded. */
  g_test_message ("pool in use: %zu bytes loaded in f32, %zu in bf16", pool_in_use (wide_pool),
                  pool_in_use (narrow_pool));
  g_assert_cmpuint (pool_in_use (narrow_pool), <, pool_in_use (wide_pool) * 6 / 10);

  /* The f32 weights it gives (for the GPU, for saving) are the file's. */
  sm_expert_copy_layer (a, 1, wa, ba);
  sm_expert_copy_layer (b, 1, wb, bb);
  g_assert_cmpmem (wa, 200 * 70 * sizeof (float), wb, 200 * 70 * sizeof (float));
  g_assert_cmpmem (ba, sizeof ba, bb, sizeof bb);

  for (guint i = 0; i < batch * 300; i++)
    x[i] = (float) g_rand_double_range (rand, -1, 1);
  scratch = g_aligned_alloc (sm_expert_scratch_floats (a, batch), sizeof (float), 64);
  {
    const SmPrecision sequence[] = { SM_PRECISION_BF16, SM_PRECISION_F32, SM_PRECISION_INT8, SM_PRECISION_BF16 };

    for (guint s = 0; s < G_N_ELEMENTS (sequence); s++)
      {
        g_assert_true (sm_model_set_precision (wide, sequence[s], wide_pool, &error));
        g_assert_true (sm_model_set_precision (narrow, sequence[s], narrow_pool, &error));
        g_assert_no_error (error);
        sm_expert_forward (a, kernels, x, batch, ya, scratch);
        sm_expert_forward (b, kernels, x, batch, yb, scratch);
        g_assert_cmpmem (ya, batch * 70 * sizeof (float), yb, batch * 70 * sizeof (float));
      }
  }
  g_aligned_free (scratch);

  /* A NaN among the weights is refused as in f32. */
  g_clear_pointer (&narrow, sm_model_free);
  narrow = sm_safetensors_load_bytes (with_nan, narrow_pool, SM_PRECISION_BF16, &error);
  g_assert_null (narrow);
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, "Layer 1: weight value 77 is NaN"));
}

static void
test_safetensors_missing_file (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_null (sm_safetensors_load ("/nonexistent/model.safetensors", pool, SM_PRECISION_F32, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

/* A folder or a FIFO given as a model is named for what it is; opening the
 * FIFO would block forever. */
static void
test_safetensors_not_a_file (void)
{
  g_autoptr(SmPool) pool = sm_pool_new (SM_POOL_DEFAULT_LIMIT, NULL);
  g_autofree char *dir = g_dir_make_tmp ("synmesh-model-XXXXXX", NULL);
  g_autofree char *fifo = g_build_filename (dir, "model.safetensors", NULL);
  g_autoptr(GError) dir_error = NULL;
  g_autoptr(GError) fifo_error = NULL;

  g_assert_null (sm_safetensors_load (dir, pool, SM_PRECISION_F32, &dir_error));
  g_assert_error (dir_error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (dir_error->message, "is a folder"));

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  g_assert_null (sm_safetensors_load (fifo, pool, SM_PRECISION_F32, &fifo_error));
  g_assert_error (fifo_error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (fifo_error->message, "not a regular file"));

  g_unlink (fifo);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/model/presets", test_model_presets);
  g_test_add_func ("/engine/model/large-preset", test_model_large_preset);
  g_test_add_func ("/engine/model/preset-shapes", test_model_preset_shapes);
  g_test_add_func ("/engine/model/deterministic", test_model_deterministic);
  g_test_add_func ("/engine/model/odd-shapes", test_model_odd_shapes);
  g_test_add_func ("/engine/model/errors", test_model_errors);
  g_test_add_func ("/engine/safetensors/corpus", test_safetensors_corpus);
  g_test_add_func ("/engine/safetensors/truncations", test_safetensors_truncations);
  g_test_add_func ("/engine/safetensors/round-trip", test_safetensors_round_trip);
  g_test_add_func ("/engine/safetensors/bf16-without-widening", test_safetensors_bf16_without_widening);
  g_test_add_func ("/engine/safetensors/missing-file", test_safetensors_missing_file);
  g_test_add_func ("/engine/safetensors/not-a-file", test_safetensors_not_a_file);

  return g_test_run ();
}
