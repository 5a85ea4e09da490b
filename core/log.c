/* core/log.c - logging to syslog or stderr, with the session's context. */
#include "config-core.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include "log.h"

#define LOG_LINE_MAX 2048

static int log_stderr = 1;
static int log_debug;
static char log_client[64];
static char log_user[128];

void pz_log_open(int to_stderr, int facility)
{
	log_stderr = to_stderr;
	if (!to_stderr)
		openlog("poczta", LOG_PID | LOG_NDELAY, facility);
}

void pz_log_set_debug(int debug)
{
	log_debug = debug;
}

/* copy_context - keep a printable copy: control bytes become '?'. */
static void copy_context(char *dst, size_t size, const char *src)
{
	size_t i;

	if (src == NULL) {
		dst[0] = '\0';
		return;
	}
	for (i = 0; i + 1 < size && src[i] != '\0'; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || src[i] == 0x7f ? '?' : src[i];
	dst[i] = '\0';
}

void pz_log_set_client(const char *peer)
{
	copy_context(log_client, sizeof(log_client), peer);
}

void pz_log_set_user(const char *user)
{
	copy_context(log_user, sizeof(log_user), user);
}

static const char *level_name(enum pz_log_level level)
{
	switch (level) {
	case PZ_LOG_DEBUG: return "debug";
	case PZ_LOG_INFO: return "info";
	case PZ_LOG_WARNING: return "warning";
	case PZ_LOG_ERROR: return "error";
	case PZ_LOG_FATAL: return "fatal";
	}
	return "?";
}

static int level_syslog(enum pz_log_level level)
{
	switch (level) {
	case PZ_LOG_DEBUG: return LOG_DEBUG;
	case PZ_LOG_INFO: return LOG_INFO;
	case PZ_LOG_WARNING: return LOG_WARNING;
	case PZ_LOG_ERROR: return LOG_ERR;
	case PZ_LOG_FATAL: return LOG_CRIT;
	}
	return LOG_ERR;
}

/* pz_logv - format "module(user)<client>: text" and emit one line. */
void pz_logv(const char *module, enum pz_log_level level, const char *fmt,
	     va_list args)
{
	char text[LOG_LINE_MAX], ctx[256];
	size_t i;

	if (level == PZ_LOG_DEBUG && !log_debug)
		return;
	vsnprintf(text, sizeof(text), fmt, args);
	for (i = 0; text[i] != '\0'; i++) {
		if (text[i] == '\n' || text[i] == '\r')
			text[i] = ' ';
	}
	snprintf(ctx, sizeof(ctx), "%s%s%s%s%s%s", module != NULL ? module : "core",
		 log_user[0] != '\0' ? "(" : "", log_user,
		 log_user[0] != '\0' ? ")" : "",
		 log_client[0] != '\0' ? "<" : "", log_client);
	if (log_client[0] != '\0')
		strncat(ctx, ">", sizeof(ctx) - strlen(ctx) - 1);
	if (log_stderr)
		fprintf(stderr, "poczta[%ld]: %s: %s: %s\n", (long)getpid(),
			level_name(level), ctx, text);
	else
		syslog(level_syslog(level), "%s: %s: %s", level_name(level), ctx, text);
}

void pz_log(enum pz_log_level level, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	pz_logv(NULL, level, fmt, args);
	va_end(args);
}

void pz_log_module(const char *module, enum pz_log_level level, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	pz_logv(module, level, fmt, args);
	va_end(args);
}

void pz_fatal(const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	pz_logv(NULL, PZ_LOG_FATAL, fmt, args);
	va_end(args);
	_exit(75); /* EX_TEMPFAIL: whatever was in progress can be retried */
}

int pz_log_facility(const char *name)
{
	static const struct { const char *name; int facility; } map[] = {
		{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON }, { "user", LOG_USER },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
		{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(map[i].name, name) == 0)
			return map[i].facility;
	}
	return -1;
}
