/* core/penalty.h - failed logins per client address, shared by every
 * connection process through one shared memory table made by the master. */
#ifndef POCZTA_CORE_PENALTY_H
#define POCZTA_CORE_PENALTY_H

#include <stdint.h>

#define PZ_PENALTY_SLOTS 4096

/* pz_penalty_init - map the table (before the first fork). */
int pz_penalty_init(void);
/* pz_penalty_delay_ms - how long to wait before answering a login from
 * `addr`: 0 without recent failures, else base doubled per failure up to max. */
uint64_t pz_penalty_delay_ms(const char *addr, uint64_t base_ms, uint64_t max_ms);
void pz_penalty_fail(const char *addr);
void pz_penalty_clear(const char *addr);

#endif
