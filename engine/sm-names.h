/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The index of @name in @names (ASCII case ignored): every enum that is
 * also a word on the command line or in a file looks itself up here. */
static inline gboolean
sm_names_lookup (const char * const *names,
                 guint               n_names,
                 const char         *name,
                 guint              *index)
{
  for (guint i = 0; i < n_names; i++)
    if (g_ascii_strcasecmp (name, names[i]) == 0)
      {
        *index = i;
        return TRUE;
      }

  return FALSE;
}

G_END_DECLS
