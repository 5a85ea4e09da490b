/* core/mail/mail-search.c - finding text in decoded headers and bodies. */
#include "config-core.h"
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "stream.h"
#include "mail-charset.h"
#include "mail-decode.h"
#include "mail-fold.h"
#include "mail-words.h"
#include "mail-search.h"

#define CHUNK 16384

static int search_headers(pz_mail_part *p, struct mail_finder *f)
{
	struct mail_buf line;
	pz_mail_part *c;
	unsigned int i;
	int found = 0;

	mail_buf_init(&line, NULL);
	for (i = 0; i < p->n_fields && !found; i++) {
		mail_buf_truncate(&line, 0);
		mail_buf_puts(&line, p->fields[i].name);
		mail_buf_puts(&line, ": ");
		mail_decode_words_buf(&line, p->fields[i].value, p->fields[i].value_len);
		mail_finder_reset(f);
		found = mail_finder_feed(f, line.data, line.len);
	}
	mail_buf_free(&line);
	for (c = p->children; c != NULL && !found; c = c->next)
		found = search_headers(c, f);
	return found;
}

/* search_body - one text part's body: 1 found, 0 not, -1 read error. */
static int search_body(pz_stream *msg, pz_mail_part *p, struct mail_finder *f,
		       unsigned char *chunk)
{
	struct mail_decoder dec;
	struct mail_charset *cs = mail_charset_open(mail_param_get(p->c.params,
								    p->c.n_params, "charset"));
	struct mail_buf decoded, text;
	enum mail_cte cte = mail_cte_of(p->c.encoding);
	uint64_t left = p->body_size;
	int ret = 0;

	if (cs == NULL)
		cs = mail_charset_open("utf-8");
	/* an unknown encoding is searched as it is */
	mail_decoder_init(&dec, cte == MAIL_CTE_UNKNOWN ? MAIL_CTE_IDENTITY : cte);
	mail_buf_init(&decoded, NULL);
	mail_buf_init(&text, NULL);
	mail_finder_reset(f);
	if (pz_stream_seek(msg, p->body_offset) < 0)
		ret = -1;
	while (ret == 0 && left > 0) {
		size_t want = left < CHUNK ? (size_t)left : CHUNK;
		ssize_t n = pz_stream_read(msg, chunk, want);

		if (n < 0) {
			ret = -1;
			break;
		}
		if (n == 0)
			break;
		left -= (uint64_t)n;
		mail_buf_truncate(&decoded, 0);
		mail_buf_truncate(&text, 0);
		mail_decoder_step(&dec, chunk, (size_t)n, &decoded);
		mail_charset_feed(cs, decoded.data, decoded.len, &text);
		ret = mail_finder_feed(f, text.data, text.len);
	}
	if (ret == 0) {
		mail_buf_truncate(&decoded, 0);
		mail_buf_truncate(&text, 0);
		mail_decoder_finish(&dec, &decoded);
		mail_charset_feed(cs, decoded.data, decoded.len, &text);
		mail_charset_finish(cs, &text);
		ret = mail_finder_feed(f, text.data, text.len);
	}
	mail_buf_free(&decoded);
	mail_buf_free(&text);
	mail_charset_close(&cs);
	return ret;
}

static int search_bodies(pz_stream *msg, pz_mail_part *p, struct mail_finder *f,
			 unsigned char *chunk)
{
	pz_mail_part *c;
	int ret;

	if ((p->flags & (PZ_PART_MULTIPART | PZ_PART_MESSAGE)) == 0)
		return (p->flags & PZ_PART_TEXT) != 0 ? search_body(msg, p, f, chunk) : 0;
	for (c = p->children; c != NULL; c = c->next) {
		if ((ret = search_bodies(msg, c, f, chunk)) != 0)
			return ret;
	}
	return 0;
}

int pz_mail_search_text(pz_stream *msg, pz_mail_part *root, unsigned int where,
			const char *needle, pz_pool *pool)
{
	struct mail_finder f;
	unsigned char *chunk;
	int ret = 0;

	(void)pool;
	mail_finder_init(&f, needle);
	if (f.found) {
		mail_finder_free(&f);
		return 1;
	}
	if ((where & MAIL_SEARCH_HEADER) != 0)
		ret = search_headers(root, &f);
	if (ret == 0 && (where & MAIL_SEARCH_BODY) != 0) {
		chunk = malloc(CHUNK);
		if (chunk == NULL)
			pz_fatal("out of memory for a search");
		ret = search_bodies(msg, root, &f, chunk);
		free(chunk);
	}
	mail_finder_free(&f);
	return ret;
}
