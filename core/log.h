/* core/log.h - one log line per event, to syslog or to stderr (-F).
 *
 * Every line carries the module that logs it, and in a child process the
 * client's address and, after login, the user.  Passwords are never given
 * to these calls. */
#ifndef POCZTA_CORE_LOG_H
#define POCZTA_CORE_LOG_H

#include <stdarg.h>
#include <poczta/types.h>

/* pz_log_open - start logging; `to_stderr` for -F, else syslog with
 * `facility` (e.g. LOG_MAIL). */
void pz_log_open(int to_stderr, int facility);
void pz_log_set_debug(int debug);
/* pz_log_facility - the syslog facility called `name` ("mail", "local0"
 * ...), or -1. */
int pz_log_facility(const char *name);
/* pz_log_set_client - context for this process's lines (NULL clears). */
void pz_log_set_client(const char *peer);
void pz_log_set_user(const char *user);

void pz_logv(const char *module, enum pz_log_level level, const char *fmt,
	     va_list args);
void pz_log(enum pz_log_level level, const char *fmt, ...) PZ_PRINTF(2, 3);
void pz_log_module(const char *module, enum pz_log_level level,
		   const char *fmt, ...) PZ_PRINTF(3, 4);
/* pz_fatal - log and end the process: a broken invariant or no memory. */
void pz_fatal(const char *fmt, ...) PZ_PRINTF(1, 2) __attribute__((noreturn));

#endif
