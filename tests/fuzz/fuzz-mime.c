/* tests/fuzz/fuzz-mime.c - libFuzzer target for the mail primitives
 * (core/mail): the input is a message, parsed into its part tree; then
 * BODY, BODYSTRUCTURE and every ENVELOPE are written, every part is
 * decoded to the end, its fields read and decoded, its section number
 * looked up again, and the whole message searched.  The input also goes
 * through the date, mUTF-7 and encoded-word decoders as a string.
 *
 *     clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *         -I sdk/include -I core core/mail/ *.c core/pool.c core/stream.c \
 *         core/base64.c core/log.c tests/fuzz/fuzz-mime.c -o fuzz-mime
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"
#include "stream.h"
#include "mail/mail-charset.h"
#include "mail/mail-date.h"
#include "mail/mail-decode.h"
#include "mail/mail-imap.h"
#include "mail/mail-parse.h"
#include "mail/mail-search.h"
#include "mail/mail-utf7.h"
#include "mail/mail-words.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* check - a part and, depth first, its children; `section` is the part's
 * number when `numbered` (an encapsulated message has none of its own). */
static void check(pz_stream *msg, pz_mail_part *root, pz_mail_part *p,
		  const char *section, int numbered, pz_pool *pool)
{
	struct pz_mail_part_info info = { .size = sizeof(info) };
	pz_stream *dec;
	pz_error err;
	const char **values;
	unsigned char buf[4096];
	unsigned int i;
	pz_mail_part *c;

	pz_mail_part_info(p, &info);
	if (info.header_offset + info.header_size != info.body_offset)
		abort();
	(void)pz_mail_header_get(p, pool, "subject", &values);
	(void)pz_mail_header_get(p, pool, "content-type", &values);
	(void)pz_mail_envelope(p, pool);
	if (numbered && pz_mail_part_find(root, section) != p)
		abort();
	if (pz_mail_part_decoded(msg, p, pool, &dec, &err) == 0) {
		int64_t len = pz_stream_size(dec), got = 0;
		ssize_t n;

		(void)pz_stream_seek(dec, 0);
		while ((n = pz_stream_read(dec, buf, sizeof(buf))) > 0)
			got += n;
		if (n < 0 || got != len)
			abort();
	}
	for (c = p->children, i = 1; c != NULL; c = c->next, i++) {
		char sub[512];
		int ok = strlen(section) < 400;

		if ((p->flags & PZ_PART_MULTIPART) != 0) {
			snprintf(sub, sizeof(sub), *section == '\0' ? "%s%u" : "%s.%u",
				 section, i);
			check(msg, root, c, ok ? sub : "", ok, pool);
		} else if ((c->flags & PZ_PART_MULTIPART) != 0) {
			/* an encapsulated multipart: its parts go on from the
			 * message part's number (the root's is 1) */
			check(msg, root, c, *section == '\0' ? "1" : section, 0, pool);
		} else {
			/* an encapsulated single part is the message's part 1 */
			snprintf(sub, sizeof(sub), "%s.1", *section == '\0' ? "1" : section);
			check(msg, root, c, ok ? sub : "", ok, pool);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pz_pool *pool = pz_pool_create("fuzz");
	pz_stream *msg = pz_stream_from_memory(pool, data, size);
	pz_mail_part *root;
	pz_error err;
	char *s = pz_pool_strndup(pool, (const char *)data, size > 4096 ? 4096 : size);
	time_t t;
	int tz;
	char date[PZ_IMAP_DATE_MAX];

	if (pz_mail_parse(msg, pool, &root, &err) < 0)
		abort(); /* a memory stream cannot fail */
	(void)pz_mail_bodystructure(root, pool, 1);
	(void)pz_mail_bodystructure(root, pool, 0);
	if (pz_mail_part_find(root, "") != root)
		abort();
	check(msg, root, root, "", 0, pool);
	(void)pz_mail_search_text(msg, root, 3, "\xc3\xa9t\xc3\xa9 x", pool);

	(void)pz_mail_decode_words(pool, s);
	(void)pz_charset_to_utf8(pool, "iso-2022-jp", data, size);
	(void)pz_charset_to_utf8(pool, "utf-8", data, size);
	if (pz_mail_date_parse(s, &t, &tz) == 0)
		pz_imap_date_format(t, tz, date);
	if (pz_imap_date_parse(s, &t, &tz) == 0)
		pz_imap_date_format(t, tz, date);
	if ((s = pz_mutf7_to_utf8(pool, s)) != NULL && pz_utf8_to_mutf7(pool, s) == NULL)
		abort();
	pz_pool_destroy(&pool);
	return 0;
}
