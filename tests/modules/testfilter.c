/* tests/modules/testfilter.c - a filter whose verdict the message chooses,
 * to exercise every verdict of the filter hooks end to end.
 *
 * The message's "X-Test-Verdict:" header picks: accept (default), reject,
 * tempfail, quarantine FOLDER, discard, fail (the hook returns -1), or
 * slow (the hook sleeps past filter_timeout).  Every message it accepts
 * gets "X-Test-Filter: checked".  The saved hook appends "saved MAILBOX UID"
 * and the expunged hook "expunged MAILBOX UID" to the file named by `log`.
 * The search hook answers BODY/TEXT "uids:1,3" with those UIDs (see search()),
 * and notes "search MAILBOX COUNT". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <poczta/poczta.h>

static const struct pz_host *host;
static pz_module *self_mod;

static const struct pz_config_key testfilter_keys[] = {
	{ "log", PZ_CONF_PATH, NULL, "file for saved/expunged notifications" },
	{ NULL, 0, NULL, NULL }
};

/* find_verdict - the X-Test-Verdict value in the header, or "". */
static void find_verdict(pz_filter_msg *msg, char *out, size_t size)
{
	pz_stream *st = host->filter_msg_stream(msg);
	char buf[8192], *line, *next;
	ssize_t n = host->stream_read(st, buf, sizeof(buf) - 1);

	out[0] = '\0';
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (line = buf; *line != '\0' && *line != '\r' && *line != '\n'; line = next) {
		size_t len = strcspn(line, "\r\n");

		next = line + len;
		if (*next == '\r')
			next++;
		if (*next == '\n')
			next++;
		if (strncasecmp(line, "X-Test-Verdict:", 15) == 0) {
			const char *v = line + 15;

			while (*v == ' ')
				v++;
			snprintf(out, size, "%.*s", (int)(line + len - v), v);
			return;
		}
	}
}

static int verdict(pz_module *self, pz_filter_msg *msg, struct pz_verdict *v,
		   const char **error_r)
{
	char want[256];

	find_verdict(msg, want, sizeof(want));
	if (strncmp(want, "reject", 6) == 0) {
		v->action = PZ_VERDICT_REJECT;
		v->text = "test filter says no";
	} else if (strncmp(want, "tempfail", 8) == 0) {
		v->action = PZ_VERDICT_TEMPFAIL;
		v->text = "test filter says later";
	} else if (strncmp(want, "quarantine ", 11) == 0) {
		v->action = PZ_VERDICT_QUARANTINE;
		v->folder = host->pool_strdup(host->filter_msg_pool(msg), want + 11);
		v->text = "test filter quarantined it";
	} else if (strncmp(want, "discard", 7) == 0) {
		v->action = PZ_VERDICT_DISCARD;
		v->text = "test filter dropped it";
	} else if (strncmp(want, "fail", 4) == 0) {
		*error_r = "test filter failed on purpose";
		return -1;
	} else if (strncmp(want, "slow", 4) == 0) {
		sleep(30);
	} else {
		host->filter_msg_add_header(msg, "X-Test-Filter", "checked");
	}
	return 0;
}

static void note(const char *what, const char *mailbox, uint32_t uid)
{
	const char *path = host->config_string(self_mod, "log");
	FILE *f;

	if (path == NULL || (f = fopen(path, "a")) == NULL)
		return;
	fprintf(f, "%s %s %u\n", what, mailbox, uid);
	fclose(f);
}

static void saved(pz_module *self, pz_filter_msg *msg, const char *mailbox, uint32_t uid)
{
	note("saved", mailbox, uid);
}

static void expunged(pz_module *self, pz_user *user, const char *mailbox,
		     uint32_t uidvalidity, uint32_t uid)
{
	note("expunged", mailbox, uid);
}

#define TESTFILTER_MAX_UIDS 64

/* parse_uids - "uids:1,3,7" into out; the count, or -1 when it is not one */
static int parse_uids(const char *str, uint32_t *out)
{
	int n = 0;

	if (strncmp(str, "uids:", 5) != 0)
		return -1;
	for (str += 5; *str != '\0' && n < TESTFILTER_MAX_UIDS; n++) {
		char *end;

		out[n] = (uint32_t)strtoul(str, &end, 10);
		if (end == str)
			return -1;
		str = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* search - BODY or TEXT "uids:1,3" is answered with those UIDs (an answer the
 * messages' text would not give, so a test sees the filter answered);
 * several such keys give the UIDs common to all; BODY "fail" is an error;
 * anything else is declined, for the storage and the core to answer. */
static int search(pz_module *self, pz_user *user, pz_mailbox *box, const char *mailbox,
		  const struct pz_search_key *key, pz_uid_array *result_r, const char **error_r)
{
	const struct pz_search_key *k = key->type == PZ_SEARCH_AND ? key->children : key;
	uint32_t common[TESTFILTER_MAX_UIDS], these[TESTFILTER_MAX_UIDS];
	int n_common = -1;

	for (; k != NULL; k = key->type == PZ_SEARCH_AND ? k->next : NULL) {
		int n, i, j, kept = 0;

		if ((k->type != PZ_SEARCH_BODY && k->type != PZ_SEARCH_TEXT) || k->u.str == NULL)
			return 1;
		if (strcmp(k->u.str, "fail") == 0) {
			*error_r = "test search failed on purpose";
			return -1;
		}
		if ((n = parse_uids(k->u.str, these)) < 0)
			return 1;
		if (n_common < 0) {
			memcpy(common, these, sizeof(uint32_t) * (size_t)n);
			n_common = n;
			continue;
		}
		for (i = 0; i < n_common; i++) {
			for (j = 0; j < n && these[j] != common[i]; j++)
				;
			if (j < n)
				common[kept++] = common[i];
		}
		n_common = kept;
	}
	for (int i = 0; i < n_common; i++)
		host->uid_array_add(result_r, common[i]);
	note("search", mailbox, (uint32_t)n_common);
	return 0;
}

static const struct pz_filter_ops testfilter_ops = {
	.size = sizeof(struct pz_filter_ops),
	.name = "testfilter",
	.hooks = PZ_HOOK_DELIVER | PZ_HOOK_APPEND | PZ_HOOK_SCAN | PZ_HOOK_SAVED |
		PZ_HOOK_EXPUNGED | PZ_HOOK_SEARCH,
	.deliver = verdict,
	.append = verdict,
	.scan = verdict,
	.saved = saved,
	.expunged = expunged,
	.search = search,
};

static int testfilter_init(pz_module *self, const struct pz_host *h, const char **error_r)
{
	host = h;
	self_mod = self;
	return host->register_filter(self, &testfilter_ops, error_r);
}

POCZTA_MODULE(testfilter,
	.kinds = PZ_KIND_FILTER,
	.name = "testfilter",
	.version = "1.0",
	.license = "MIT",
	.description = "filter with message-chosen verdicts, for the tests",
	.config_keys = testfilter_keys,
	.init = testfilter_init)
