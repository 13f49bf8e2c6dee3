/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <inttypes.h>

#include <string.h>

#include "sm-error.h"
#include "sm-npy.h"

/* The format (numpy.lib.format): "\x93NUMPY", major and minor version,
 * a header length (2 bytes in 1.0, 4 bytes in 2.0 and 3.0), then a Python
 * dict literal such as {'descr': '<f4', 'fortran_order': False,
 * 'shape': (3, 4), } padded with spaces to a multiple of 64, then data. */

static gboolean
fail (GError    **error,
      const char *message)
{
  g_set_error_literal (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT, message);
  return FALSE;
}

/* The text after 'key': in the header dict, or NULL. */
static const char *
find_value (const char *header,
            const char *key)
{
  const char *at = strstr (header, key);

  if (at == NULL)
    return NULL;
  at += strlen (key);
  while (*at == ' ' || *at == ':')
    at++;
  return at;
}

gboolean
sm_npy_parse (const guint8 *bytes,
              gsize         length,
              SmNpyArray   *array,
              GError      **error)
{
  g_autofree char *header = NULL;
  const char *descr, *order, *shape;
  guint64 dims[2] = { 0, 0 }, elements;
  guint n_dims = 0, header_len, prefix;
  char *end;

  memset (array, 0, sizeof *array);

  if (length < 10 || memcmp (bytes, "\x93NUMPY", 6) != 0)
    return fail (error, _("Not a NumPy .npy file (no \\x93NUMPY magic)"));
  if (bytes[6] == 1)
    {
      header_len = bytes[8] | (guint) bytes[9] << 8;
      prefix = 10;
    }
  else if (bytes[6] == 2 || bytes[6] == 3)
    {
      if (length < 12)
        return fail (error, _("The .npy header is truncated"));
      header_len = bytes[8] | (guint) bytes[9] << 8 | (guint) bytes[10] << 16 | (guint) bytes[11] << 24;
      prefix = 12;
    }
  else
    return fail (error, _("Unknown .npy format version"));

  if (header_len > 1024 * 1024 || prefix + header_len > length)
    return fail (error, _("The .npy header is truncated"));
  header = g_strndup ((const char *) bytes + prefix, header_len);

  descr = find_value (header, "'descr'");
  order = find_value (header, "'fortran_order'");
  shape = find_value (header, "'shape'");
  if (descr == NULL || order == NULL || shape == NULL)
    return fail (error, _("The .npy header lacks descr, fortran_order or shape"));

  if (!g_str_has_prefix (descr, "'<f4'") && !g_str_has_prefix (descr, "'|f4'"))
    {
      g_autofree char *what = g_strndup (descr, strcspn (descr, ",}"));

      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("The array holds %s; only little-endian float32 ('<f4') is read "
                   "(numpy: array.astype('<f4'))"), what);
      return FALSE;
    }
  if (!g_str_has_prefix (order, "False"))
    return fail (error, _("The array is in Fortran order; save it in C order (numpy.ascontiguousarray)"));

  if (*shape != '(')
    return fail (error, _("The .npy shape is malformed"));
  shape++;
  while (*shape != ')')
    {
      while (*shape == ' ' || *shape == ',')
        shape++;
      if (*shape == ')')
        break;
      if (n_dims == 2)
        return fail (error, _("The array has more than 2 dimensions; 1-D or 2-D are read"));
      dims[n_dims] = g_ascii_strtoull (shape, &end, 10);
      if (end == shape || dims[n_dims] > G_MAXUINT32)
        return fail (error, _("The .npy shape is malformed"));
      n_dims++;
      shape = end;
    }
  if (n_dims == 0)
    return fail (error, _("The array is a scalar; 1-D or 2-D are read"));

  array->one_d = n_dims == 1;
  array->rows = array->one_d ? 1 : (guint) dims[0];
  array->cols = (guint) dims[n_dims - 1];
  elements = (guint64) array->rows * array->cols;
  if (elements > (1u << 28) || elements * 4 != length - prefix - header_len)
    {
      g_set_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT,
                   _("The array should hold %" PRIu64 " bytes of data, the file has %zu"),
                   elements * 4, length - prefix - header_len);
      return FALSE;
    }

  array->data = g_new (float, MAX (1, elements));
  memcpy (array->data, bytes + prefix + header_len, elements * 4);
  return TRUE;
}

gboolean
sm_npy_load (const char  *path,
             SmNpyArray  *array,
             GError     **error)
{
  g_autofree char *contents = NULL;
  gsize length;

  if (!g_file_get_contents (path, &contents, &length, error))
    return FALSE;
  if (!sm_npy_parse ((const guint8 *) contents, length, array, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  return TRUE;
}

gboolean
sm_npy_save (const char        *path,
             const SmNpyArray  *array,
             GError           **error)
{
  g_autoptr(GString) file = g_string_new ("\x93NUMPY\x01");
  g_autofree char *dict = NULL;
  gsize header_len;

  g_string_append_c (file, '\0');
  dict = array->one_d
         ? g_strdup_printf ("{'descr': '<f4', 'fortran_order': False, 'shape': (%u,), }", array->cols)
         : g_strdup_printf ("{'descr': '<f4', 'fortran_order': False, 'shape': (%u, %u), }",
                            array->rows, array->cols);
  /* Pad so that the data starts at a multiple of 64, ending in '\n'. */
  header_len = strlen (dict) + 1;
  header_len += (64 - (10 + header_len) % 64) % 64;
  g_string_append_c (file, (char) (header_len & 0xff));
  g_string_append_c (file, (char) (header_len >> 8));
  g_string_append (file, dict);
  while (file->len < 10 + header_len - 1)
    g_string_append_c (file, ' ');
  g_string_append_c (file, '\n');
  g_string_append_len (file, (const char *) array->data, (gssize) ((gsize) array->rows * array->cols * 4));

  return g_file_set_contents_full (path, file->str, (gssize) file->len,
                                   G_FILE_SET_CONTENTS_CONSISTENT, 0644, error);
}

void
sm_npy_array_clear (SmNpyArray *array)
{
  g_clear_pointer (&array->data, g_free);
}
