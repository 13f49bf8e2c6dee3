/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Waiting on what a child process says rather than on the clock: a run
 * lasts as long as the machine needs (ASan, a loaded CI host), and its
 * --duration only bounds one that never says it. */

#include <signal.h>
#include <string.h>
#include <gio/gio.h>

/* Reads @stream, a pipe of @child's, until a line holds @awaited, then
 * interrupts @child as a user would (SIGINT) and reads on to the end.
 * Returns all it read once @child has exited; asserts it was said. */
static inline char *
interrupt_when_told (GSubprocess  *child,
                     GInputStream *stream,
                     const char   *awaited)
{
  g_autoptr(GDataInputStream) lines = g_data_input_stream_new (stream);
  g_autoptr(GError) error = NULL;
  GString *said = g_string_new (NULL);
  gboolean told = FALSE;
  char *line;

  while ((line = g_data_input_stream_read_line_utf8 (lines, NULL, NULL, &error)) != NULL)
    {
      g_string_append_printf (said, "%s\n", line);
      if (!told && strstr (line, awaited) != NULL)
        {
          told = TRUE;
          g_subprocess_send_signal (child, SIGINT);
        }
      g_free (line);
    }
  g_assert_no_error (error);
  g_subprocess_wait (child, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("it said: %s", said->str);
  g_assert_true (told);
  g_assert_true (g_subprocess_get_if_exited (child));
  return g_string_free (said, FALSE);
}
