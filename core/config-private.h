/* core/config-private.h - helpers shared by the config parser's files. */
#ifndef POCZTA_CORE_CONFIG_PRIVATE_H
#define POCZTA_CORE_CONFIG_PRIVATE_H

#include <stdbool.h>
#include <poczta/types.h>

/* pz_conf_error - *error_r = a malloc'd formatted message (NULL without memory). */
void pz_conf_error(char **error_r, const char *fmt, ...) PZ_PRINTF(2, 3);
/* pz_conf_is_blank - a blank between tokens and around values. */
bool pz_conf_is_blank(char c);

#endif
