/* core/master.h - the supervising process: listen, fork a child per
 * connection, reload on SIGHUP, stop on SIGTERM. */
#ifndef POCZTA_CORE_MASTER_H
#define POCZTA_CORE_MASTER_H

/* pz_master_run - serve until SIGTERM/SIGINT; the config at `config_path`
 * is already loaded (pz_core_load).  With `detach`, the master goes to the
 * background (and logs to syslog) once its listeners are bound, so the
 * command that started it returns only when the server accepts
 * connections.  Returns the exit code. */
int pz_master_run(const char *config_path, int detach);

/* pz_master_check_runtime - what the master needs beyond the config file:
 * listeners resolvable, TLS files loadable, the unprivileged user present
 * when running as root.  Used by -t.  0 or -1 with *error_r (malloc'd). */
int pz_master_check_runtime(char **error_r);

#endif
