/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "corpus-test-util.h"
#include "sm-error.h"
#include "sm-npy.h"

static void
check_npy_seed (const char *path,
                const char *seed,
                const char *outcome,
                gpointer    data)
{
  g_autoptr(GError) error = NULL;
  SmNpyArray array;

  if (g_str_equal (outcome, "ok"))
    {
      g_assert_true (sm_npy_load (path, &array, &error));
      g_assert_no_error (error);
      if (g_str_equal (seed, "vector.npy"))
        {
          g_assert_true (array.one_d);
          g_assert_cmpuint (array.cols, ==, 5);
          g_assert_cmpfloat (array.data[3], ==, 3.25f);
        }
      else if (g_str_equal (seed, "matrix.npy"))
        {
          g_assert_false (array.one_d);
          g_assert_cmpuint (array.rows, ==, 3);
          g_assert_cmpfloat (array.data[14], ==, 14.0f / 8);
        }
      sm_npy_array_clear (&array);
      return;
    }

  g_assert_false (sm_npy_load (path, &array, &error));
  g_test_message ("%s: %s", seed, error->message);
  g_assert_error (error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
  g_assert_nonnull (strstr (error->message, outcome));
  g_assert_null (array.data);
}

static void
test_npy_corpus (void)
{
  g_assert_cmpuint (corpus_foreach ("npy", check_npy_seed, NULL), ==, 14);
}

static void
test_npy_round_trip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("synmesh-npy-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "a.npy", NULL);
  float values[6] = { 1, -2, 3.5f, 0, 1e-30f, -0.0f };
  SmNpyArray out = { 2, 3, FALSE, values }, in;
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length;

  g_assert_true (sm_npy_save (path, &out, &error));
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  /* NumPy's own layout: data starting at a multiple of 64. */
  g_assert_cmpuint ((length - 24) % 64, ==, 0);
  g_assert_true (sm_npy_load (path, &in, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (in.rows, ==, 2);
  g_assert_cmpuint (in.cols, ==, 3);
  g_assert_cmpmem (in.data, sizeof values, values, sizeof values);
  sm_npy_array_clear (&in);

  /* Every prefix of the file is refused cleanly. */
  for (gsize cut = 0; cut < length; cut++)
    {
      g_autoptr(GError) cut_error = NULL;

      g_assert_false (sm_npy_parse ((const guint8 *) contents, cut, &in, &cut_error));
      g_assert_error (cut_error, SM_ENGINE_ERROR, SM_ENGINE_ERROR_INVALID_INPUT);
    }

  g_unlink (path);
  g_rmdir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/npy/corpus", test_npy_corpus);
  g_test_add_func ("/engine/npy/round-trip", test_npy_round_trip);

  return g_test_run ();
}
