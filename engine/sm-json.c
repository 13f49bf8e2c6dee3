/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>

#include "sm-json.h"

void
sm_json_builder_add_number (JsonBuilder *builder,
                            double       value)
{
  g_return_if_fail (JSON_IS_BUILDER (builder));

  if (isfinite (value))
    json_builder_add_double_value (builder, value);
  else
    json_builder_add_null_value (builder);
}
