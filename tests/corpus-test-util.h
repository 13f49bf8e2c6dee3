/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Shared by the tests of parsers of outside data: each seed corpus in
 * tests/data/<folder>/ comes with an expected.txt, one "seed<TAB>outcome"
 * line per seed ("ok", or what the refusal must say; # starts a comment),
 * written by the script that made the seeds. */

#include <glib.h>

typedef void (*CorpusCheck) (const char *path,
                             const char *seed,
                             const char *outcome,
                             gpointer    data);

/* Runs @check on every seed that expected.txt lists; returns how many. */
static inline guint
corpus_foreach (const char  *folder,
                CorpusCheck  check,
                gpointer     data)
{
  g_autofree char *dir = g_test_build_filename (G_TEST_DIST, "data", folder, NULL);
  g_autofree char *list_path = g_build_filename (dir, "expected.txt", NULL);
  g_autofree char *list = NULL;
  g_auto(GStrv) lines = NULL;
  guint checked = 0;

  g_assert_true (g_file_get_contents (list_path, &list, NULL, NULL));
  lines = g_strsplit (list, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = NULL;
      g_autofree char *path = NULL;

      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      fields = g_strsplit (lines[i], "\t", 2);
      g_assert_cmpuint (g_strv_length (fields), ==, 2);
      path = g_build_filename (dir, fields[0], NULL);
      check (path, fields[0], fields[1], data);
      checked++;
    }
  return checked;
}
