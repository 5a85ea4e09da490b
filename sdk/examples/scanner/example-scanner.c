/* example-scanner.c - an example Poczta filter module: it rejects,
 * quarantines or tempfails a message that contains a configured byte
 * signature, and marks every other message "X-Example-Scanner: clean".
 *
 * It is the template for a real scanner (an antivirus or spam daemon): copy
 * this folder, rename the module, and replace scanner_stream_match() with a
 * call to your engine.  It builds against the installed SDK only and uses
 * nothing of the core but the host API that init() is handed.
 *
 * Configuration, in poczta.conf:
 *
 *     module example-scanner {
 *         signature = EICAR-STANDARD-ANTIVIRUS-TEST-FILE
 *         action = reject         # reject, quarantine or tempfail
 *         folder = Quarantine     # the mailbox for action = quarantine
 *         fail_open = no          # read by the core: on our failure, accept
 *     }
 *
 * What the core does around the hooks (poczta/filter.h): it zeroes the
 * verdict (ACCEPT) and rewinds the message before each call; the first
 * filter that returns a verdict other than ACCEPT decides; a hook that
 * returns -1, or runs past `filter_timeout`, counts as TEMPFAIL unless the
 * section says `fail_open = yes`.
 */
#include <string.h>
#include <poczta/poczta.h>

/* Bytes asked of the stream per read.  With the signature carry-over this
 * bounds the module's memory whatever the size of the message. */
#define SCANNER_READ_SIZE 8192
/* The longest signature accepted in the configuration. */
#define SCANNER_MAX_SIGNATURE 256
#define SCANNER_STR_(x) #x
#define SCANNER_STR(x) SCANNER_STR_(x)

/* The module is loaded once, so its state lives at file scope.  init() runs
 * in the master before any connection process is forked; each child
 * inherits these values. */
static const struct pz_host *host;     /* valid for the module's lifetime */
static const char *scanner_signature;  /* from config_string: as long as the module */
static size_t scanner_signature_len;
static enum pz_verdict_action scanner_action;
static const char *scanner_folder;

/* The values of `action`: one row each. */
static const struct {
	const char *name;
	enum pz_verdict_action action;
} scanner_actions[] = {
	{ "reject", PZ_VERDICT_REJECT },         /* 5xx at delivery, NO at APPEND */
	{ "quarantine", PZ_VERDICT_QUARANTINE }, /* stored into `folder` instead */
	{ "tempfail", PZ_VERDICT_TEMPFAIL },     /* 4xx: the sender retries later */
};

/* The keys of our `module example-scanner { }` section.  The core refuses
 * any other key (except the filter keys it reads itself, like fail_open),
 * checks each value against its type, and hands us the default for a key
 * that is not set. */
static const struct pz_config_key scanner_keys[] = {
	{ "signature", PZ_CONF_STRING, "EICAR-STANDARD-ANTIVIRUS-TEST-FILE",
	  "bytes that mark a message as infected (1 to "
	  SCANNER_STR(SCANNER_MAX_SIGNATURE) " bytes)" },
	{ "action", PZ_CONF_STRING, "reject",
	  "verdict for an infected message: reject, quarantine or tempfail" },
	{ "folder", PZ_CONF_STRING, "Quarantine", "mailbox for action = quarantine" },
	{ NULL, 0, NULL, NULL }
};

/* bytes_contain - whether needle[0..m) occurs in hay[0..n); m > 0. */
static int bytes_contain(const unsigned char *hay, size_t n, const char *needle, size_t m)
{
	const unsigned char *p = hay, *end = hay + n;

	while ((size_t)(end - p) >= m) {
		p = memchr(p, (unsigned char)needle[0], (size_t)(end - p) - m + 1);
		if (p == NULL)
			return 0;
		if (memcmp(p, needle, m) == 0)
			return 1;
		p++;
	}
	return 0;
}

/* scanner_stream_match - 1 when the signature occurs in the stream, 0 when
 * it does not, -1 on a read error.
 *
 * The stream is read in SCANNER_READ_SIZE pieces into a buffer on the
 * stack: no malloc, because the core abandons a hook that overruns
 * filter_timeout with siglongjmp, and anything allocated here would leak.
 * The last (signature length - 1) bytes of each piece are moved to the
 * front of the buffer before the next read, so a signature split across
 * two reads is still found. */
static int scanner_stream_match(pz_stream *s)
{
	unsigned char buf[SCANNER_MAX_SIGNATURE - 1 + SCANNER_READ_SIZE];
	size_t kept = 0;

	for (;;) {
		ssize_t n = host->stream_read(s, buf + kept, SCANNER_READ_SIZE);
		size_t have;

		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		have = kept + (size_t)n;
		if (bytes_contain(buf, have, scanner_signature, scanner_signature_len))
			return 1;
		kept = have < scanner_signature_len - 1 ? have : scanner_signature_len - 1;
		memmove(buf, buf + have - kept, kept);
	}
}

/* scanner_check - the deliver, append and scan hooks: read the message and
 * set the verdict.  Returns 0, or -1 with *error_r (a static string) when
 * the message cannot be read. */
static int scanner_check(pz_module *self, pz_filter_msg *msg, struct pz_verdict *v,
			 const char **error_r)
{
	/* Strings in the verdict must be static or come from this pool: the
	 * core uses them after we return, until the message is done. */
	pz_pool *pool = host->filter_msg_pool(msg);
	int r = scanner_stream_match(host->filter_msg_stream(msg));

	if (r < 0) {
		*error_r = "cannot read the message";
		return -1;
	}
	if (r == 0) {
		/* The verdict stays ACCEPT, as the core set it.  A refused
		 * header (too many, too long) is not worth failing the
		 * delivery for. */
		if (host->filter_msg_add_header(msg, "X-Example-Scanner", "clean") < 0)
			host->log(self, PZ_LOG_WARNING, "cannot add the X-Example-Scanner header");
		return 0;
	}
	v->action = scanner_action;
	v->text = host->pool_printf(pool, "Message contains %s", scanner_signature);
	if (scanner_action == PZ_VERDICT_QUARANTINE)
		v->folder = host->pool_strdup(pool, scanner_folder);
	return 0;
}

/* The provider we register.  Static const: the core keeps the pointer for
 * as long as the module is loaded.  `size` lets a newer core tell which
 * hooks this build knows of (PZ_OPS_HAS). */
static const struct pz_filter_ops scanner_ops = {
	.size = sizeof(struct pz_filter_ops),
	.name = "example-scanner",
	.hooks = PZ_HOOK_DELIVER | PZ_HOOK_APPEND | PZ_HOOK_SCAN,
	.deliver = scanner_check,
	.append = scanner_check,
	.scan = scanner_check,
};

/* scanner_parse_action - the verdict for an `action` value; -1 if unknown. */
static int scanner_parse_action(const char *name, enum pz_verdict_action *action_r)
{
	size_t i;

	for (i = 0; i < sizeof(scanner_actions) / sizeof(scanner_actions[0]); i++) {
		if (strcmp(scanner_actions[i].name, name) == 0) {
			*action_r = scanner_actions[i].action;
			return 0;
		}
	}
	return -1;
}

/* scanner_init - read and check the configuration, register the filter.
 * Errors are static strings: the core prints them with the module's name
 * and refuses to start (or `poczta -t` fails), so a bad value is caught
 * before any mail is touched.
 *
 * Everything used here exists since ABI 1.0, the minor this module is
 * written for, so no call needs a PZ_HOST_HAS() test.  A module that used
 * a host call added in a later minor would test for it here, and either do
 * without or fail with an error that names the core version it needs. */
static int scanner_init(pz_module *self, const struct pz_host *h, const char **error_r)
{
	const char *action;

	host = h;
	scanner_signature = host->config_string(self, "signature");
	scanner_signature_len = scanner_signature != NULL ? strlen(scanner_signature) : 0;
	if (scanner_signature_len == 0 || scanner_signature_len > SCANNER_MAX_SIGNATURE) {
		*error_r = "signature must be 1 to " SCANNER_STR(SCANNER_MAX_SIGNATURE) " bytes long";
		return -1;
	}
	action = host->config_string(self, "action");
	if (action == NULL || scanner_parse_action(action, &scanner_action) < 0) {
		*error_r = "action must be reject, quarantine or tempfail";
		return -1;
	}
	scanner_folder = host->config_string(self, "folder");
	if (scanner_action == PZ_VERDICT_QUARANTINE &&
	    (scanner_folder == NULL || scanner_folder[0] == '\0')) {
		*error_r = "action = quarantine needs a folder";
		return -1;
	}
	if (host->register_filter(self, &scanner_ops, error_r) < 0)
		return -1;
	host->log(self, PZ_LOG_INFO, "looking for \"%s\", action %s", scanner_signature, action);
	return 0;
}

/* The descriptor.  The first argument is the file name (example-scanner.so)
 * with every character other than a letter or digit turned into '_'; the
 * macro adds magic, size, ABI version and build signature.  Nothing to
 * release at shutdown and no per-process resources, so deinit,
 * process_init and process_deinit stay NULL.  A scanner that talks to a
 * daemon would connect in process_init (after privileges are dropped) and
 * close in process_deinit. */
POCZTA_MODULE(example_scanner,
	.kinds = PZ_KIND_FILTER,
	.name = "example-scanner",
	.version = PACKAGE_VERSION,
	.license = "MIT",
	.description = "example filter: acts on messages that contain a signature",
	.config_keys = scanner_keys,
	.init = scanner_init)
