/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <inttypes.h>

#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sys/stat.h>

#include "sm-error.h"
#include "sm-safetensors.h"
#include "sm-simd.h"

G_STATIC_ASSERT (G_BYTE_ORDER == G_LITTLE_ENDIAN);

typedef enum { DTYPE_F32, DTYPE_F16, DTYPE_BF16 } Dtype;

typedef struct
{
  char         *name;
  Dtype         dtype;
  guint         n_dims;
  guint64       dims[4];
  guint64       elements;
  guint64       begin, end;   /* within the data section */
  const guint8 *data;
} Tensor;

typedef struct
{
  GHashTable *metadata;   /* string → string */
  GArray     *tensors;    /* Tensor */
} Parsed;

static void
tensor_clear (gpointer data)
{
  g_free (((Tensor *) data)->name);
}

static void
parsed_clear (Parsed *p)
{
  g_clear_pointer (&p->metadata, g_hash_table_unref);
  g_clear_pointer (&p->tensors, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Parsed, parsed_clear)

static gboolean
fail (GError    **error,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);

static gboolean
fail (GError    **error,
      const char *format,
      ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT, message);

  return FALSE;
}

/* A JSON integer in [0, max], or FALSE. */
static gboolean
read_uint (JsonNode *node,
           guint64   max,
           guint64  *value)
{
  gint64 v;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  v = json_node_get_int (node);
  if (v < 0 || (guint64) v > max)
    return FALSE;
  *value = (guint64) v;
  return TRUE;
}

static int
compare_begin (gconstpointer a,
               gconstpointer b)
{
  const Tensor *x = *(const Tensor * const *) a, *y = *(const Tensor * const *) b;

  return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static gboolean
parse_tensor (const char   *name,
              JsonNode     *node,
              const guint8 *data,
              guint64       data_len,
              Tensor       *t,
              GError      **error)
{
  static const guint dtype_sizes[] = { 4, 2, 2 };
  JsonObject *object;
  JsonArray *shape, *offsets;
  const char *dtype;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return fail (error, _("Tensor “%s”: its header entry is not an object"), name);
  object = json_node_get_object (node);

  dtype = json_object_has_member (object, "dtype") &&
          JSON_NODE_HOLDS_VALUE (json_object_get_member (object, "dtype")) &&
          json_node_get_value_type (json_object_get_member (object, "dtype")) == G_TYPE_STRING
          ? json_object_get_string_member (object, "dtype") : NULL;
  if (dtype == NULL)
    return fail (error, _("Tensor “%s”: no dtype"), name);
  if (g_str_equal (dtype, "F32"))
    t->dtype = DTYPE_F32;
  else if (g_str_equal (dtype, "F16"))
    t->dtype = DTYPE_F16;
  else if (g_str_equal (dtype, "BF16"))
    t->dtype = DTYPE_BF16;
  else
    return fail (error, _("Tensor “%s”: dtype %s is not supported (F32, F16 and BF16 are)"), name, dtype);

  if (!json_object_has_member (object, "shape") ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, "shape")))
    return fail (error, _("Tensor “%s”: no shape"), name);
  shape = json_object_get_array_member (object, "shape");
  t->n_dims = json_array_get_length (shape);
  if (t->n_dims == 0 || t->n_dims > G_N_ELEMENTS (t->dims))
    return fail (error, _("Tensor “%s”: %u dimensions (1 to %u are supported)"),
                 name, t->n_dims, (guint) G_N_ELEMENTS (t->dims));
  t->elements = 1;
  for (guint d = 0; d < t->n_dims; d++)
    {
      if (!read_uint (json_array_get_element (shape, d), SM_SAFETENSORS_MAX_DIM, &t->dims[d]))
        return fail (error, _("Tensor “%s”: dimension %u is not an integer from 0 to %d"),
                     name, d, SM_SAFETENSORS_MAX_DIM);
      t->elements *= t->dims[d];
      if (t->elements > SM_SAFETENSORS_MAX_ELEMENTS)
        return fail (error, _("Tensor “%s”: more than %d elements, an absurd size for this engine"),
                     name, SM_SAFETENSORS_MAX_ELEMENTS);
    }

  if (!json_object_has_member (object, "data_offsets") ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (object, "data_offsets")) ||
      json_array_get_length (offsets = json_object_get_array_member (object, "data_offsets")) != 2 ||
      !read_uint (json_array_get_element (offsets, 0), G_MAXINT64, &t->begin) ||
      !read_uint (json_array_get_element (offsets, 1), G_MAXINT64, &t->end))
    return fail (error, _("Tensor “%s”: data_offsets must be two non-negative integers"), name);
  if (t->begin > t->end || t->end > data_len)
    return fail (error, _("Tensor “%s”: bytes %" PRIu64 "–%" PRIu64
                 " lie outside the %" PRIu64 " bytes of data"), name, t->begin, t->end, data_len);
  if (t->end - t->begin != t->elements * dtype_sizes[t->dtype])
    return fail (error, _("Tensor “%s”: %" PRIu64 " bytes of data for %" PRIu64
                 " elements of %s"), name, t->end - t->begin, t->elements, dtype);

  t->name = g_strdup (name);
  t->data = data + t->begin;

  return TRUE;
}

/* The deepest a valid header nests: the root object, a tensor's object, its
 * shape (or data_offsets) array. */
#define MAX_HEADER_DEPTH 3
#define MAX_NAME_BYTES   256

/* Walks the header's bytes once, without recursion, before any JSON parser
 * sees them: json-glib recurses per level, so a header of 100,000 '[' would
 * overflow the stack, and it lets a repeated member silently replace the
 * first, so a name given twice is found here.  Strings are skipped with
 * their escapes; the header is already known to be valid UTF-8. */
static gboolean
check_header_shape (const char *header,
                    gsize       len,
                    guint      *n_names,
                    GError    **error)
{
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  int depth = 0;

  for (gsize i = 0; i < len; i++)
    {
      char c = header[i];

      if (c == '"')
        {
          gsize start = ++i;

          while (i < len && header[i] != '"')
            i += header[i] == '\\' ? 2 : 1;
          if (i >= len)
            return TRUE;  /* unterminated: the JSON parser says so */

          /* A member name of the root object: the next non-blank is ':'. */
          if (depth == 1)
            {
              gsize j = i + 1;

              while (j < len && g_ascii_isspace (header[j]))
                j++;
              if (j < len && header[j] == ':')
                {
                  char *name;

                  /* Names end up in messages: a long one is no real tensor's. */
                  if (i - start > MAX_NAME_BYTES)
                    return fail (error, _("The header names a tensor with %zu bytes; a name has at most %d"),
                                 i - start, MAX_NAME_BYTES);
                  name = g_strndup (header + start, i - start);

                  if (!g_hash_table_add (names, name))
                    {
                      /* Control characters escaped, the rest of UTF-8 kept. */
                      char high[128];
                      g_autofree char *shown = NULL;

                      for (int b = 0; b < 127; b++)
                        high[b] = (char) (0x80 + b);
                      high[127] = '\0';
                      shown = g_strescape (name, high);

                      return fail (error, _("The header names “%s” twice"), shown);
                    }
                }
            }
        }
      else if (c == '{' || c == '[')
        {
          if (++depth > MAX_HEADER_DEPTH)
            return fail (error, _("The header nests deeper than %d levels; a safetensors header "
                         "is an object of tensors, each with a shape"), MAX_HEADER_DEPTH);
        }
      else if (c == '}' || c == ']')
        depth--;
    }

  *n_names = g_hash_table_size (names);

  return TRUE;
}

static gboolean
parse (GBytes  *bytes,
       Parsed  *p,
       GError **error)
{
  gsize size;
  const guint8 *file = g_bytes_get_data (bytes, &size);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) json_error = NULL;
  g_autoptr(GPtrArray) by_offset = g_ptr_array_new ();
  guint64 header_len, data_len;
  guint n_names = 0;
  const guint8 *data;
  JsonObject *root;
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;

  if (size < 8)
    return fail (error, _("Not a safetensors file: %zu bytes, too short for the header length"), size);

  memcpy (&header_len, file, 8);
  header_len = GUINT64_FROM_LE (header_len);
  if (header_len > SM_SAFETENSORS_MAX_HEADER)
    return fail (error, _("The header claims %" PRIu64 " bytes; more than %d is not a model header"),
                 header_len, SM_SAFETENSORS_MAX_HEADER);
  if (header_len > size - 8)
    return fail (error, _("The file is truncated: the header claims %" PRIu64
                 " bytes but only %zu follow"), header_len, size - 8);

  data = file + 8 + header_len;
  data_len = size - 8 - header_len;

  if (!g_utf8_validate ((const char *) file + 8, (gssize) header_len, NULL))
    return fail (error, _("The header is not valid UTF-8"));
  if (!check_header_shape ((const char *) file + 8, header_len, &n_names, error))
    return FALSE;
  if (!json_parser_load_from_data (parser, (const char *) file + 8, (gssize) header_len, &json_error))
    return fail (error, _("The header is not valid JSON: %s"), json_error->message);
  if (json_parser_get_root (parser) == NULL || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return fail (error, _("The header is not a JSON object"));
  root = json_node_get_object (json_parser_get_root (parser));
  /* Fewer members than names: two names differed only in their escapes. */
  if (json_object_get_size (root) != n_names)
    return fail (error, _("The header names a tensor twice (written with different escapes)"));

  p->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  p->tensors = g_array_new (FALSE, TRUE, sizeof (Tensor));
  g_array_set_clear_func (p->tensors, tensor_clear);

  json_object_iter_init (&iter, root);
  while (json_object_iter_next (&iter, &name, &node))
    {
      Tensor t = { 0 };

      if (g_str_equal (name, "__metadata__"))
        {
          JsonObjectIter meta;
          const char *key;
          JsonNode *value;

          if (!JSON_NODE_HOLDS_OBJECT (node))
            return fail (error, _("__metadata__ is not an object"));
          json_object_iter_init (&meta, json_node_get_object (node));
          while (json_object_iter_next (&meta, &key, &value))
            {
              if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING)
                return fail (error, _("__metadata__ value “%s” is not a string"), key);
              g_hash_table_insert (p->metadata, g_strdup (key), g_strdup (json_node_get_string (value)));
            }
          continue;
        }

      if (!parse_tensor (name, node, data, data_len, &t, error))
        {
          g_free (t.name);
          return FALSE;
        }
      g_array_append_val (p->tensors, t);
    }

  /* No two tensors may share bytes. */
  for (guint i = 0; i < p->tensors->len; i++)
    g_ptr_array_add (by_offset, &g_array_index (p->tensors, Tensor, i));
  g_ptr_array_sort (by_offset, compare_begin);
  for (guint i = 1; i < by_offset->len; i++)
    {
      const Tensor *a = g_ptr_array_index (by_offset, i - 1), *b = g_ptr_array_index (by_offset, i);

      if (b->begin < a->end)
        return fail (error, _("Tensors “%s” and “%s” overlap in the data"), a->name, b->name);
    }

  return TRUE;
}

static float *
to_f32 (const Tensor *t)
{
  float *out = g_new (float, t->elements ? t->elements : 1);
  const SmKernels *kernels = sm_simd_get_kernels ();

  /* Offsets need not be aligned: copy before converting. */
  switch (t->dtype)
    {
    case DTYPE_F32:
      memcpy (out, t->data, t->elements * 4);
      break;
    case DTYPE_F16:
    case DTYPE_BF16:
      {
        g_autofree guint16 *half = g_new (guint16, t->elements ? t->elements : 1);

        memcpy (half, t->data, t->elements * 2);
        (t->dtype == DTYPE_F16 ? kernels->f16_to_f32 : kernels->bf16_to_f32) (half, out, t->elements);
      }
      break;
    default:
      g_assert_not_reached ();
    }

  return out;
}

typedef struct
{
  guint         index;    /* position in the nn.Sequential */
  const Tensor *weight;
  const Tensor *bias;
} LayerTensors;

static int
compare_index (gconstpointer a,
               gconstpointer b)
{
  const LayerTensors *x = a, *y = b;

  return x->index < y->index ? -1 : x->index > y->index;
}

/* Splits "<prefix><index>.<weight|bias>"; FALSE when the name is not one. */
static gboolean
split_layer_name (const char  *name,
                  const char  *prefix,
                  guint       *index,
                  gboolean    *is_bias)
{
  const char *rest;
  char *end;
  guint64 v;

  if (!g_str_has_prefix (name, prefix))
    return FALSE;
  rest = name + strlen (prefix);
  if (!g_ascii_isdigit (rest[0]))
    return FALSE;
  v = g_ascii_strtoull (rest, &end, 10);
  if (v > 1000000)
    return FALSE;
  if (g_str_equal (end, ".weight"))
    *is_bias = FALSE;
  else if (g_str_equal (end, ".bias"))
    *is_bias = TRUE;
  else
    return FALSE;
  *index = (guint) v;
  return TRUE;
}

/* A BF16 tensor's values as they are (copied: offsets need not be aligned). */
static guint16 *
to_bf16 (const Tensor *t)
{
  return g_memdup2 (t->data, t->elements * 2);
}

static SmExpert *
build_expert (Parsed      *p,
              const char  *prefix,
              const char  *activations_key,
              SmPrecision  precision,
              SmPool      *pool,
              GError     **error)
{
  g_autoptr(GArray) layers = g_array_new (FALSE, TRUE, sizeof (LayerTensors));
  g_autofree SmLayerShape *shapes = NULL;
  g_autofree gpointer *weights = NULL;
  g_autofree float **biases = NULL;
  gboolean keep_bf16;
  g_auto(GStrv) activations = NULL;
  const char *activation_list;
  SmExpert *expert;

  for (guint i = 0; i < p->tensors->len; i++)
    {
      const Tensor *t = &g_array_index (p->tensors, Tensor, i);
      LayerTensors *layer = NULL;
      gboolean is_bias;
      guint index;

      if (!split_layer_name (t->name, prefix, &index, &is_bias))
        continue;
      for (guint l = 0; l < layers->len; l++)
        if (g_array_index (layers, LayerTensors, l).index == index)
          layer = &g_array_index (layers, LayerTensors, l);
      if (layer == NULL)
        {
          LayerTensors fresh = { index, NULL, NULL };

          g_array_append_val (layers, fresh);
          layer = &g_array_index (layers, LayerTensors, layers->len - 1);
        }
      if (is_bias)
        layer->bias = t;
      else
        layer->weight = t;
    }

  if (layers->len == 0)
    {
      fail (error, _("No layers named %s<n>.weight"), prefix);
      return NULL;
    }
  g_array_sort (layers, compare_index);

  activation_list = g_hash_table_lookup (p->metadata, activations_key);
  if (activation_list != NULL)
    {
      activations = g_strsplit (activation_list, ",", -1);
      if (g_strv_length (activations) != layers->len)
        {
          fail (error, _("%s lists %u activations for %u layers"), activations_key,
                g_strv_length (activations), layers->len);
          return NULL;
        }
    }

  shapes = g_new0 (SmLayerShape, layers->len);
  weights = g_new0 (gpointer, layers->len);
  biases = g_new0 (float *, layers->len);
  /* BF16 weights stay bf16 for an engine that runs bf16: no f32 copy of
   * the model is made.  F16 ones are widened (bf16 cannot hold them). */
  keep_bf16 = precision == SM_PRECISION_BF16;
  for (guint l = 0; l < layers->len; l++)
    {
      const Tensor *weight = g_array_index (layers, LayerTensors, l).weight;

      keep_bf16 &= weight != NULL && weight->dtype == DTYPE_BF16;
    }

  for (guint l = 0; l < layers->len; l++)
    {
      const LayerTensors *layer = &g_array_index (layers, LayerTensors, l);

      if (layer->weight == NULL)
        {
          fail (error, _("Layer %s%u has a bias but no weight"), prefix, layer->index);
          goto out;
        }
      if (layer->weight->n_dims != 2)
        {
          fail (error, _("Tensor “%s” must be 2-D (out × in), not %u-D"), layer->weight->name, layer->weight->n_dims);
          goto out;
        }
      if (layer->bias != NULL && (layer->bias->n_dims != 1 || layer->bias->dims[0] != layer->weight->dims[0]))
        {
          fail (error, _("Tensor “%s” must hold %" PRIu64 " values, one per output"),
                layer->bias->name, layer->weight->dims[0]);
          goto out;
        }

      shapes[l].out = (guint) layer->weight->dims[0];
      shapes[l].in = (guint) layer->weight->dims[1];
      /* Without metadata: ReLU between layers, nothing after the last, the
       * usual nn.Sequential of Linear and ReLU. */
      shapes[l].act.kind = l + 1 < layers->len ? SM_ACT_RELU : SM_ACT_IDENTITY;
      shapes[l].act.alpha = 0.01f;
      if (activations != NULL && !sm_activation_from_name (g_strstrip (activations[l]), &shapes[l].act.kind))
        {
          fail (error, _("%s: unknown activation “%s”"), activations_key, activations[l]);
          goto out;
        }
      weights[l] = keep_bf16 ? (gpointer) to_bf16 (layer->weight) : (gpointer) to_f32 (layer->weight);
      biases[l] = layer->bias != NULL ? to_f32 (layer->bias) : NULL;
    }

  if (keep_bf16)
    expert = sm_expert_new_bf16 (pool, layers->len, shapes, (const guint16 * const *) weights,
                                 (const float * const *) biases, error);
  else
    expert = sm_expert_new (pool, layers->len, shapes, (const float * const *) weights,
                            (const float * const *) biases, error);
  if (expert == NULL && *prefix)
    g_prefix_error (error, _("Tensors %s*: "), prefix);

  for (guint l = 0; l < layers->len; l++)
    {
      g_free (weights[l]);
      g_free (biases[l]);
    }
  return expert;

out:
  for (guint l = 0; l < layers->len; l++)
    {
      g_free (weights[l]);
      g_free (biases[l]);
    }
  return NULL;
}

SmModel *
sm_safetensors_load_bytes (GBytes       *bytes,
                           SmPool       *pool,
                           SmPrecision   precision,
                           GError      **error)
{
  g_auto(Parsed) p = { 0 };
  g_autoptr(SmModel) model = NULL;
  gboolean any_expert = FALSE, single = FALSE;

  g_return_val_if_fail (bytes != NULL && pool != NULL, NULL);

  if (!parse (bytes, &p, error))
    return NULL;

  /* Every tensor must belong to a layer we understand: either the experts
   * of a full model or the layers of one nn.Sequential. */
  for (guint i = 0; i < p.tensors->len; i++)
    {
      const char *name = g_array_index (p.tensors, Tensor, i).name;
      gboolean is_bias, known = FALSE;
      guint index;

      if (split_layer_name (name, "", &index, &is_bias))
        single = known = TRUE;
      for (guint d = 0; d < SM_N_DOMAINS && !known; d++)
        {
          g_autofree char *prefix = g_strdup_printf ("experts.%s.", sm_domain_get_id (d));

          known = split_layer_name (name, prefix, &index, &is_bias);
          any_expert |= known;
        }
      if (!known)
        {
          fail (error, _("Unexpected tensor “%s” (see docs/model-format.md for the names)"), name);
          return NULL;
        }
    }
  if (single && any_expert)
    {
      fail (error, _("The file mixes a single network’s layers with a full model’s experts"));
      return NULL;
    }
  if (!single && !any_expert)
    {
      fail (error, _("The file holds no tensors"));
      return NULL;
    }

  model = sm_model_new ();
  if (single)
    {
      SmExpert *expert = build_expert (&p, "", "synmesh.activations", precision, pool, error);

      if (expert == NULL)
        return NULL;
      sm_model_set_single_expert (model, expert);
    }
  else
    for (guint d = 0; d < SM_N_DOMAINS; d++)
      {
        g_autofree char *prefix = g_strdup_printf ("experts.%s.", sm_domain_get_id (d));
        g_autofree char *key = g_strdup_printf ("synmesh.activations.%s", sm_domain_get_id (d));
        gboolean present = FALSE;
        SmExpert *expert;

        for (guint i = 0; i < p.tensors->len && !present; i++)
          present = g_str_has_prefix (g_array_index (p.tensors, Tensor, i).name, prefix);
        if (!present)
          continue;
        expert = build_expert (&p, prefix, key, precision, pool, error);
        if (expert == NULL)
          return NULL;
        sm_model_set_expert (model, d, expert);
      }

  sm_model_set_description (model, g_hash_table_lookup (p.metadata, "synmesh.description"));

  return g_steal_pointer (&model);
}

SmModel *
sm_safetensors_load (const char  *path,
                     SmPool      *pool,
                     SmPrecision  precision,
                     GError     **error)
{
  g_autoptr(GMappedFile) mapped = NULL;
  g_autoptr(GBytes) bytes = NULL;
  SmModel *model;
  GStatBuf st;

  /* Mapping a folder fails with "No such device", and opening a FIFO
   * blocks: say what the path is before trying. */
  if (g_stat (path, &st) == 0 && !S_ISREG (st.st_mode))
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   S_ISDIR (st.st_mode) ? "%s is a folder, not a model file"
                                        : "%s is not a regular file, so not a model file", path);
      return NULL;
    }

  mapped = g_mapped_file_new (path, FALSE, error);
  if (mapped == NULL)
    return NULL;
  bytes = g_mapped_file_get_bytes (mapped);

  model = sm_safetensors_load_bytes (bytes, pool, precision, error);
  if (model == NULL)
    g_prefix_error (error, "%s: ", path);
  else if (sm_model_get_description (model) == NULL)
    {
      g_autofree char *base = g_path_get_basename (path);
      sm_model_set_description (model, base);
    }

  return model;
}

/* ---- saving ---- */

static void
add_tensor (JsonBuilder *builder,
            GString     *data,
            const char  *name,
            const float *values,
            guint        rows,
            guint        cols)
{
  gsize begin = data->len, bytes = (gsize) rows * (cols ? cols : 1) * sizeof (float);

  json_builder_set_member_name (builder, name);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "dtype");
  json_builder_add_string_value (builder, "F32");
  json_builder_set_member_name (builder, "shape");
  json_builder_begin_array (builder);
  json_builder_add_int_value (builder, rows);
  if (cols != 0)
    json_builder_add_int_value (builder, cols);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "data_offsets");
  json_builder_begin_array (builder);
  json_builder_add_int_value (builder, (gint64) begin);
  json_builder_add_int_value (builder, (gint64) (begin + bytes));
  json_builder_end_array (builder);
  json_builder_end_object (builder);

  g_string_append_len (data, (const char *) values, (gssize) bytes);
}

gboolean
sm_safetensors_save (SmModel     *model,
                     const char  *path,
                     GError     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GString) data = g_string_new (NULL);
  g_autoptr(GString) file = NULL;
  g_autofree char *header = NULL;
  gboolean single = sm_model_is_single_expert (model);
  guint64 header_len;

  json_builder_begin_object (builder);

  /* Metadata first: format, description and each expert's activations. */
  json_builder_set_member_name (builder, "__metadata__");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "synmesh.format");
  json_builder_add_string_value (builder, "1");
  if (sm_model_get_description (model) != NULL)
    {
      json_builder_set_member_name (builder, "synmesh.description");
      json_builder_add_string_value (builder, sm_model_get_description (model));
    }
  for (guint d = 0; d < (single ? 1u : SM_N_DOMAINS); d++)
    {
      SmExpert *expert = sm_model_get_expert (model, d);
      g_autoptr(GString) list = g_string_new (NULL);
      g_autofree char *key = single ? g_strdup ("synmesh.activations")
                                    : g_strdup_printf ("synmesh.activations.%s", sm_domain_get_id (d));

      if (expert == NULL)
        continue;
      for (guint l = 0; l < sm_expert_get_n_layers (expert); l++)
        g_string_append_printf (list, "%s%s", l ? "," : "",
                                sm_activation_get_name (sm_expert_get_layer (expert, l)->act.kind));
      json_builder_set_member_name (builder, key);
      json_builder_add_string_value (builder, list->str);
    }
  json_builder_end_object (builder);

  for (guint d = 0; d < (single ? 1u : SM_N_DOMAINS); d++)
    {
      SmExpert *expert = sm_model_get_expert (model, d);

      if (expert == NULL)
        continue;
      for (guint l = 0; l < sm_expert_get_n_layers (expert); l++)
        {
          const SmLayerShape *shape = sm_expert_get_layer (expert, l);
          g_autofree float *w = g_new (float, (gsize) shape->in * shape->out);
          g_autofree float *b = g_new (float, shape->out);
          /* nn.Sequential numbering: Linear layers at even positions. */
          g_autofree char *prefix = single ? g_strdup_printf ("%u.", 2 * l)
                                           : g_strdup_printf ("experts.%s.%u.", sm_domain_get_id (d), 2 * l);
          g_autofree char *w_name = g_strconcat (prefix, "weight", NULL);
          g_autofree char *b_name = g_strconcat (prefix, "bias", NULL);

          sm_expert_copy_layer (expert, l, w, b);
          add_tensor (builder, data, w_name, w, shape->out, shape->in);
          add_tensor (builder, data, b_name, b, shape->out, 0);
        }
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  header = json_generator_to_data (generator, NULL);

  /* Pad the header with spaces so that the data starts 8-byte aligned, as
   * the reference implementation does. */
  file = g_string_new (NULL);
  g_string_append_len (file, "\0\0\0\0\0\0\0\0", 8);
  g_string_append (file, header);
  while ((file->len - 8) % 8 != 0)
    g_string_append_c (file, ' ');
  header_len = GUINT64_TO_LE ((guint64) file->len - 8);
  memcpy (file->str, &header_len, 8);
  g_string_append_len (file, data->str, (gssize) data->len);

  return g_file_set_contents_full (path, file->str, (gssize) file->len,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}
