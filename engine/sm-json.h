/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Adds @value as a JSON number, or null when it is NaN or infinite: JSON
 * has no spelling for those (json-glib would write "nan.0"), and everything
 * the project writes as JSON must parse with a strict parser. */
void sm_json_builder_add_number (JsonBuilder *builder,
                                 double       value);

G_END_DECLS
