/* core/settings.h - the core's own configuration keys: the global ones and
 * those of `listener NAME { }` sections, with their defaults. */
#ifndef POCZTA_CORE_SETTINGS_H
#define POCZTA_CORE_SETTINGS_H

#include "config.h"

extern const struct pz_config_key pz_global_keys[];
extern const struct pz_config_key pz_listener_keys[];
/* Keys the core accepts in the section of any filter module. */
extern const struct pz_config_key pz_filter_keys[];

/* The loaded configuration of this process (NULL before pz_core_load). */
const struct pz_config *pz_settings_config(void);
void pz_settings_set(struct pz_config *cfg);

/* Effective global values. */
const char *pz_setting(const char *key);
int64_t pz_setting_int(const char *key);
int pz_setting_bool(const char *key);
uint64_t pz_setting_duration_ms(const char *key);

/* pz_settings_check - check globals and every section's core keys, and
 * make their relative paths absolute; module sections are checked by the
 * loader against each module's schema. */
int pz_settings_check(struct pz_config *cfg, char **error_r);

#endif
