/* modules/imap/imap-fetch-body.c - body sections of FETCH (RFC 9051
 * 6.4.5): BODY[section]<partial>, BODY.PEEK, RFC822.*, HEADER,
 * HEADER.FIELDS (.NOT), TEXT, MIME, part numbers, and BINARY[part],
 * BINARY.PEEK and BINARY.SIZE (RFC 3516); plus ENVELOPE, BODY and
 * BODYSTRUCTURE, parsed by the core once per message and cached by the
 * storage.
 *
 * Sections of the message itself need no MIME parse: its header ends at
 * the first empty line.  Part numbers go through host->mail_parse.  Data
 * is copied from the message stream to the connection in chunks. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "imap-fetch.h"

#define MAX_FIELDS 256

int imap_fetch_stream(struct imap_cmd *cmd, struct imap_fetch_msg *m, pz_error *err)
{
	struct imap_session *s = cmd->s;
	int r;

	if (m->stream != NULL)
		return 0;
	r = s->storage->msg_stream(s->view->box, m->uid, m->pool, &m->stream, err);
	if (r > 0) {
		err->cls = PZ_ERR_NOT_FOUND;
		err->msg = "Message was expunged.";
	}
	return r == 0 ? 0 : -1;
}

int imap_fetch_parse_tree(struct imap_cmd *cmd, struct imap_fetch_msg *m, pz_error *err)
{
	struct pz_mail_part_info info = { .size = sizeof(info) };

	if (m->root != NULL)
		return 0;
	if (!PZ_HOST_HAS(imap_host, mail_parse)) {
		err->cls = PZ_ERR_TEMP;
		err->msg = "The core has no MIME parser (ABI 1.1 needed).";
		return -1;
	}
	if (imap_fetch_stream(cmd, m, err) < 0)
		return -1;
	imap_host->stream_seek(m->stream, 0);
	if (imap_host->mail_parse(m->stream, m->pool, &m->root, err) < 0)
		return -1;
	imap_host->mail_part_info(m->root, &info);
	m->damaged = (info.flags & PZ_PART_DAMAGED) != 0;
	return 0;
}

/* imap_fetch_structure - ENVELOPE, BODY or BODYSTRUCTURE: from the
 * storage's cache, or parsed now and cached for next time. */
int imap_fetch_structure(struct imap_cmd *cmd, struct imap_fetch_msg *m, const char *field,
			 const char **value_r, pz_error *err)
{
	const struct pz_storage_ops *ops = cmd->s->storage;
	pz_mailbox *box = cmd->s->view->box;
	const char *value, *env, *body, *bs;
	size_t len;
	pz_error ignore;

	if (PZ_OPS_HAS(ops, msg_cache_get) &&
	    ops->msg_cache_get(box, m->uid, field, m->pool, &value, &len, &ignore) == 0) {
		*value_r = imap_host->pool_strndup(m->pool, value, len);
		return 0;
	}
	if (imap_fetch_parse_tree(cmd, m, err) < 0)
		return -1;
	env = imap_host->mail_envelope(m->root, m->pool);
	body = imap_host->mail_bodystructure(m->root, m->pool, 0);
	bs = imap_host->mail_bodystructure(m->root, m->pool, 1);
	if (env == NULL || body == NULL || bs == NULL) {
		err->cls = PZ_ERR_BUG;
		err->msg = "MIME structure could not be built";
		return -1;
	}
	if (PZ_OPS_HAS(ops, msg_cache_set)) {
		ops->msg_cache_set(box, m->uid, "envelope", env, strlen(env), &ignore);
		ops->msg_cache_set(box, m->uid, "body", body, strlen(body), &ignore);
		ops->msg_cache_set(box, m->uid, "bodystructure", bs, strlen(bs), &ignore);
	}
	*value_r = strcmp(field, "envelope") == 0 ? env : strcmp(field, "body") == 0 ? body : bs;
	return 0;
}

/* ---- parsing a section item */

/* parse_part - "1.2.3" then an optional ".TEXT"; returns the rest. */
static const char *parse_part(const char *s, pz_pool *pool, const char **part_r)
{
	const char *p = s;

	while (*p >= '1' && *p <= '9') {
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p != '.' || p[1] < '1' || p[1] > '9')
			break;
		p++;
	}
	*part_r = imap_host->pool_strndup(pool, s, (size_t)(p - s));
	if (**part_r != '\0' && *p == '.')
		p++;
	return p;
}

static int parse_text(const char *t, int has_part, enum imap_section_text *text_r)
{
	static const struct { const char *name; enum imap_section_text text; } texts[] = {
		{ "", SECTION_ALL }, { "HEADER", SECTION_HEADER },
		{ "HEADER.FIELDS", SECTION_HEADER_FIELDS },
		{ "HEADER.FIELDS.NOT", SECTION_HEADER_FIELDS_NOT },
		{ "TEXT", SECTION_TEXT }, { "MIME", SECTION_MIME },
	};
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		if (strcasecmp(t, texts[i].name) == 0) {
			*text_r = texts[i].text;
			return texts[i].text == SECTION_MIME && !has_part ? -1 : 0;
		}
	}
	return -1;
}

/* parse_partial - "<origin.length>" or nothing. */
static int parse_partial(const char *s, struct imap_fetch_item *it)
{
	unsigned long long o, l;
	int n = 0;

	if (*s == '\0')
		return 0;
	if (sscanf(s, "<%llu.%llu>%n", &o, &l, &n) != 2 || s[n] != '\0' || l == 0 ||
	    s[1] < '0' || s[1] > '9')
		return -1;
	it->partial = 1;
	it->offset = o;
	it->length = l;
	return 0;
}

static int parse_fields(struct imap_cmd *cmd, const struct imap_arg *list,
			struct imap_fetch_item *it, struct imap_str *name)
{
	unsigned int i;

	if (!imap_arg_is_list(list) || list->count == 0 || list->count > MAX_FIELDS)
		return -1;
	it->fields = imap_host->pool_alloc(cmd->pool, list->count * sizeof(char *));
	it->field_count = list->count;
	imap_str_adds(name, " (");
	for (i = 0; i < list->count; i++) {
		const char *f;
		char *up, *p;

		if (!imap_astring(&list->list[i], &f) || f[0] == '\0' || strpbrk(f, ": \t") != NULL)
			return -1;
		up = imap_host->pool_strdup(cmd->pool, f);
		for (p = up; *p != '\0'; p++) {
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		}
		it->fields[i] = up;
		imap_str_printf(name, "%s%s", i > 0 ? " " : "", up);
	}
	imap_str_adds(name, ")");
	return 0;
}

int imap_fetch_body_parse(struct imap_cmd *cmd, const struct imap_arg *args,
			  unsigned int count, unsigned int *used_r,
			  struct imap_fetch_item *it, const char **error_r)
{
	static const struct { const char *prefix; int binary, peek, size; } kinds[] = {
		{ "BODY[", 0, 0, 0 }, { "BODY.PEEK[", 0, 1, 0 }, { "BINARY[", 1, 0, 0 },
		{ "BINARY.PEEK[", 1, 1, 0 }, { "BINARY.SIZE[", 1, 1, 1 },
	};
	const char *s = args[0].str, *sec, *close, *after, *rest;
	struct imap_str name;
	size_t k, plen = 0;

	*error_r = "Invalid FETCH item.";
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		plen = strlen(kinds[k].prefix);
		if (strncasecmp(s, kinds[k].prefix, plen) == 0)
			break;
	}
	if (k == sizeof(kinds) / sizeof(kinds[0]))
		return -1;
	it->binary = kinds[k].binary;
	it->sets_seen = !kinds[k].peek;
	if (kinds[k].size)
		it->kind = FETCH_BINARY_SIZE;
	sec = s + plen;
	close = strchr(sec, ']');
	rest = parse_part(close != NULL ? imap_host->pool_strndup(cmd->pool, sec,
								 (size_t)(close - sec)) : sec,
			  cmd->pool, &it->part);
	if (parse_text(rest, it->part[0] != '\0', &it->text) < 0 ||
	    (it->binary && it->text != SECTION_ALL)) {
		*error_r = "Invalid section in FETCH item.";
		return -1;
	}
	imap_str_init(&name, cmd->pool, 64);
	imap_str_printf(&name, "%s[%s", it->binary ? (kinds[k].size ? "BINARY.SIZE" : "BINARY") :
			"BODY", it->part);
	if (it->text != SECTION_ALL)
		imap_str_printf(&name, "%s%s", it->part[0] != '\0' ? "." : "",
				it->text == SECTION_HEADER ? "HEADER" :
				it->text == SECTION_HEADER_FIELDS ? "HEADER.FIELDS" :
				it->text == SECTION_HEADER_FIELDS_NOT ? "HEADER.FIELDS.NOT" :
				it->text == SECTION_TEXT ? "TEXT" : "MIME");
	*used_r = 1;
	if (it->text == SECTION_HEADER_FIELDS || it->text == SECTION_HEADER_FIELDS_NOT) {
		if (close != NULL || count < 3 || !args[2].attached || args[2].str[0] != ']' ||
		    parse_fields(cmd, &args[1], it, &name) < 0) {
			*error_r = "Invalid header field list in FETCH item.";
			return -1;
		}
		after = args[2].str + 1;
		*used_r = 3;
	} else if (close == NULL) {
		return -1;
	} else {
		after = close + 1;
	}
	imap_str_adds(&name, "]");
	it->resp_name = name.data;
	if (parse_partial(after, it) < 0 || (it->partial && kinds[k].size)) {
		*error_r = "Invalid partial range in FETCH item.";
		return -1;
	}
	return 0;
}

/* ---- sending a section */

/* write_prefix - "NAME<origin> {n}\r\n". */
static int write_prefix(struct imap_cmd *cmd, const struct imap_fetch_item *it, uint64_t len,
			int literal8)
{
	char buf[64];

	if (imap_write(cmd->s, it->resp_name, strlen(it->resp_name)) < 0)
		return -1;
	if (it->partial)
		snprintf(buf, sizeof(buf), "<%llu> %s{%llu}\r\n", (unsigned long long)it->offset,
			 literal8 ? "~" : "", (unsigned long long)len);
	else
		snprintf(buf, sizeof(buf), " %s{%llu}\r\n", literal8 ? "~" : "",
			 (unsigned long long)len);
	return imap_write(cmd->s, buf, strlen(buf));
}

static void clip(const struct imap_fetch_item *it, uint64_t size, uint64_t *start_r,
		 uint64_t *len_r)
{
	uint64_t start = it->partial ? (it->offset < size ? it->offset : size) : 0;
	uint64_t len = size - start;

	if (it->partial && len > it->length)
		len = it->length;
	*start_r = start;
	*len_r = len;
}

/* copy_stream - len bytes of `in` from its current offset; a short read
 * is padded with spaces so the literal keeps the size it announced. */
static int copy_stream(struct imap_cmd *cmd, struct imap_fetch_msg *m, pz_stream *in,
		       uint64_t len)
{
	while (len > 0) {
		size_t n = len < IMAP_SEND_CHUNK ? (size_t)len : IMAP_SEND_CHUNK;
		ssize_t r = m->failed ? 0 : imap_host->stream_read(in, m->buf, n);

		if (r <= 0) {
			if (!m->failed)
				imap_host->log(cmd->s->module, PZ_LOG_ERROR,
					       "UID %u: message shorter than expected", m->uid);
			m->failed = 1;
			memset(m->buf, ' ', n);
			r = (ssize_t)n;
		}
		if (imap_write(cmd->s, m->buf, (size_t)r) < 0)
			return -1;
		len -= (uint64_t)r;
	}
	return 0;
}

static int send_range(struct imap_cmd *cmd, struct imap_fetch_msg *m,
		      const struct imap_fetch_item *it, uint64_t offset, uint64_t size)
{
	uint64_t start, len;

	clip(it, size, &start, &len);
	if (write_prefix(cmd, it, len, 0) < 0)
		return -1;
	imap_host->stream_seek(m->stream, offset + start);
	return copy_stream(cmd, m, m->stream, len);
}

static int send_memory(struct imap_cmd *cmd, const struct imap_fetch_item *it,
		       const char *data, size_t size)
{
	uint64_t start, len;

	clip(it, size, &start, &len);
	if (write_prefix(cmd, it, len, 0) < 0)
		return -1;
	return imap_write(cmd->s, data + start, (size_t)len);
}

static int send_nil(struct imap_cmd *cmd, const struct imap_fetch_item *it)
{
	if (imap_write(cmd->s, it->resp_name, strlen(it->resp_name)) < 0)
		return -1;
	return imap_write(cmd->s, " NIL", 4);
}

/* root_header_size - where the message's own header ends: after the
 * first empty line, or the whole message when there is none. */
static int root_header_size(struct imap_fetch_msg *m, uint64_t total, uint64_t *size_r)
{
	uint64_t off = 0;
	unsigned int state = 0; /* bytes of "\r\n\r\n" matched, start counts as "\r\n" */

	state = 2;
	imap_host->stream_seek(m->stream, 0);
	while (off < total) {
		ssize_t r = imap_host->stream_read(m->stream, m->buf, IMAP_SEND_CHUNK);
		ssize_t i;

		if (r <= 0)
			break;
		for (i = 0; i < r; i++) {
			char c = m->buf[i];

			if (c == '\r' && (state == 0 || state == 2))
				state++;
			else if (c == '\n' && (state == 1 || state == 3))
				state++;
			else
				state = c == '\r' ? 1 : 0;
			if (state == 4) {
				*size_r = off + (uint64_t)i + 1;
				return 0;
			}
		}
		off += (uint64_t)r;
	}
	*size_r = total;
	return 0;
}

/* read_header - a header block into memory (bounded). */
static char *read_header(struct imap_fetch_msg *m, uint64_t offset, uint64_t size,
			 size_t *len_r)
{
	size_t len = size > IMAP_HEADER_MAX ? IMAP_HEADER_MAX : (size_t)size, got = 0;
	char *buf = imap_host->pool_alloc(m->pool, len + 1);

	imap_host->stream_seek(m->stream, offset);
	while (got < len) {
		ssize_t r = imap_host->stream_read(m->stream, buf + got, len - got);

		if (r <= 0)
			break;
		got += (size_t)r;
	}
	*len_r = got;
	return buf;
}

static int field_listed(const struct imap_fetch_item *it, const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < it->field_count; i++) {
		if (strlen(it->fields[i]) == len && strncasecmp(it->fields[i], name, len) == 0)
			return 1;
	}
	return 0;
}

/* filter_header - the fields HEADER.FIELDS (.NOT) keeps, each with its
 * continuation lines, then the empty line that ends a header. */
static void filter_header(const struct imap_fetch_item *it, const char *h, size_t len,
			  struct imap_str *out)
{
	size_t pos = 0;
	int keep = 0;

	while (pos < len) {
		const char *eol = memchr(h + pos, '\n', len - pos);
		size_t end = eol != NULL ? (size_t)(eol - h) + 1 : len;
		const char *line = h + pos;

		if (end - pos <= 2 && (line[0] == '\r' || line[0] == '\n'))
			break; /* the empty line */
		if (line[0] != ' ' && line[0] != '\t') {
			const char *colon = memchr(line, ':', end - pos);
			size_t nlen = colon != NULL ? (size_t)(colon - line) : 0;

			while (nlen > 0 && (line[nlen - 1] == ' ' || line[nlen - 1] == '\t'))
				nlen--;
			keep = colon != NULL &&
				field_listed(it, line, nlen) == (it->text == SECTION_HEADER_FIELDS);
		}
		if (keep)
			imap_str_add(out, line, end - pos);
		pos = end;
	}
	imap_str_adds(out, "\r\n");
}

static int send_fields(struct imap_cmd *cmd, struct imap_fetch_msg *m,
		       const struct imap_fetch_item *it, uint64_t offset, uint64_t size)
{
	struct imap_str out;
	size_t len;
	char *h = read_header(m, offset, size, &len);

	imap_str_init(&out, m->pool, len + 3);
	filter_header(it, h, len, &out);
	return send_memory(cmd, it, out.data, out.len);
}

/* send_root - a section of the message itself. */
static int send_root(struct imap_cmd *cmd, struct imap_fetch_msg *m,
		     const struct imap_fetch_item *it)
{
	int64_t ssize = imap_host->stream_size(m->stream);
	uint64_t total = ssize >= 0 ? (uint64_t)ssize : m->info.rfc822_size, hsize = 0;

	if (it->text == SECTION_ALL)
		return send_range(cmd, m, it, 0, total);
	root_header_size(m, total, &hsize);
	switch (it->text) {
	case SECTION_HEADER:
		return send_range(cmd, m, it, 0, hsize);
	case SECTION_TEXT:
		return send_range(cmd, m, it, hsize, total - hsize);
	default:
		return send_fields(cmd, m, it, 0, hsize);
	}
}

/* Where a part lies: its own header and body, and for message/rfc822
 * parts those of the message inside.  Cached by the storage per section
 * ("imap.part.1.2"), so reading one part later needs no MIME parse. */
struct part_place {
	int exists, message;
	uint64_t hoff, hsize, boff, bsize;       /* the part */
	uint64_t choff, chsize, cboff, cbsize;   /* the encapsulated message */
};

static int place_from_cache(const char *v, struct part_place *pl)
{
	unsigned long long n[8];
	int message;

	memset(pl, 0, sizeof(*pl));
	if (strcmp(v, "-") == 0)
		return 0;
	if (sscanf(v, "%d %llu %llu %llu %llu %llu %llu %llu %llu", &message, &n[0], &n[1],
		   &n[2], &n[3], &n[4], &n[5], &n[6], &n[7]) != 9)
		return -1;
	pl->exists = 1;
	pl->message = message;
	pl->hoff = n[0], pl->hsize = n[1], pl->boff = n[2], pl->bsize = n[3];
	pl->choff = n[4], pl->chsize = n[5], pl->cboff = n[6], pl->cbsize = n[7];
	return 0;
}

/* part_place - from the cache, or parsed now and cached. */
static int part_place(struct imap_cmd *cmd, struct imap_fetch_msg *m, const char *part,
		      struct part_place *pl, pz_error *err)
{
	const struct pz_storage_ops *ops = cmd->s->storage;
	pz_mailbox *box = cmd->s->view->box;
	const char *field = imap_host->pool_printf(m->pool, "imap.part.%s", part), *v;
	struct pz_mail_part_info pi = { .size = sizeof(pi) };
	pz_mail_part *p, *child;
	pz_error ignore;
	size_t len;
	const char *value;

	if (PZ_OPS_HAS(ops, msg_cache_get) &&
	    ops->msg_cache_get(box, m->uid, field, m->pool, &v, &len, &ignore) == 0 &&
	    place_from_cache(imap_host->pool_strndup(m->pool, v, len), pl) == 0)
		return 0;
	if (imap_fetch_parse_tree(cmd, m, err) < 0)
		return -1;
	memset(pl, 0, sizeof(*pl));
	p = imap_host->mail_part_find(m->root, part);
	if (p != NULL) {
		imap_host->mail_part_info(p, &pi);
		pl->exists = 1;
		pl->hoff = pi.header_offset, pl->hsize = pi.header_size;
		pl->boff = pi.body_offset, pl->bsize = pi.body_size;
		if ((pi.flags & PZ_PART_MESSAGE) != 0 &&
		    (child = imap_host->mail_part_child(p, 0)) != NULL) {
			imap_host->mail_part_info(child, &pi);
			pl->message = 1;
			pl->choff = pi.header_offset, pl->chsize = pi.header_size;
			pl->cboff = pi.body_offset, pl->cbsize = pi.body_size;
		}
	}
	value = !pl->exists ? "-" : imap_host->pool_printf(m->pool,
		"%d %llu %llu %llu %llu %llu %llu %llu %llu", pl->message,
		(unsigned long long)pl->hoff, (unsigned long long)pl->hsize,
		(unsigned long long)pl->boff, (unsigned long long)pl->bsize,
		(unsigned long long)pl->choff, (unsigned long long)pl->chsize,
		(unsigned long long)pl->cboff, (unsigned long long)pl->cbsize);
	if (PZ_OPS_HAS(ops, msg_cache_set))
		ops->msg_cache_set(box, m->uid, field, value, strlen(value), &ignore);
	return 0;
}

/* send_part - a section below a part number. */
static int send_part(struct imap_cmd *cmd, struct imap_fetch_msg *m,
		     const struct imap_fetch_item *it, pz_error *err)
{
	struct part_place pl;

	if (part_place(cmd, m, it->part, &pl, err) < 0)
		return -1;
	if (!pl.exists)
		return send_nil(cmd, it);
	if (it->text == SECTION_ALL)
		return send_range(cmd, m, it, pl.boff, pl.bsize);
	if (it->text == SECTION_MIME)
		return send_range(cmd, m, it, pl.hoff, pl.hsize);
	/* HEADER, TEXT and fields of an encapsulated message/rfc822 */
	if (!pl.message)
		return send_nil(cmd, it);
	if (it->text == SECTION_HEADER)
		return send_range(cmd, m, it, pl.choff, pl.chsize);
	if (it->text == SECTION_TEXT)
		return send_range(cmd, m, it, pl.cboff, pl.cbsize);
	return send_fields(cmd, m, it, pl.choff, pl.chsize);
}

/* decoded - the part's content, decoded from its transfer encoding. */
static int decoded(struct imap_cmd *cmd, struct imap_fetch_msg *m, pz_mail_part *p,
		   pz_stream **out_r, pz_error *err)
{
	if (!PZ_HOST_HAS(imap_host, mail_part_decoded)) {
		err->cls = PZ_ERR_TEMP;
		err->msg = "The core has no MIME decoder (ABI 1.1 needed).";
		return -1;
	}
	if (imap_host->mail_part_decoded(m->stream, p, m->pool, out_r, err) < 0) {
		if (err->cls == PZ_ERR_NOT_SUPPORTED)
			m->unknown_cte = 1;
		return -1;
	}
	return 0;
}

/* send_binary - BINARY[part] and BINARY.SIZE[part]: one pass to count
 * (and to see whether literal8 is needed), one to send. */
static int send_binary(struct imap_cmd *cmd, struct imap_fetch_msg *m,
		       const struct imap_fetch_item *it, pz_error *err)
{
	pz_mail_part *p;
	pz_stream *dec;
	uint64_t size = 0, start, len;
	int nul = 0;
	ssize_t r;

	if (imap_fetch_parse_tree(cmd, m, err) < 0)
		return -1;
	p = imap_host->mail_part_find(m->root, it->part);
	if (p == NULL)
		return send_nil(cmd, it);
	if (decoded(cmd, m, p, &dec, err) < 0)
		return -1;
	while ((r = imap_host->stream_read(dec, m->buf, IMAP_SEND_CHUNK)) > 0) {
		size += (uint64_t)r;
		if (!nul && memchr(m->buf, 0, (size_t)r) != NULL)
			nul = 1;
	}
	if (r < 0) {
		err->cls = PZ_ERR_TEMP;
		err->msg = "Cannot read the message";
		return -1;
	}
	if (it->kind == FETCH_BINARY_SIZE) {
		char buf[32];

		snprintf(buf, sizeof(buf), " %llu", (unsigned long long)size);
		if (imap_write(cmd->s, it->resp_name, strlen(it->resp_name)) < 0)
			return -1;
		return imap_write(cmd->s, buf, strlen(buf));
	}
	if (decoded(cmd, m, p, &dec, err) < 0)
		return -1;
	clip(it, size, &start, &len);
	if (write_prefix(cmd, it, len, nul) < 0)
		return -1;
	imap_host->stream_seek(dec, start);
	return copy_stream(cmd, m, dec, len);
}

int imap_fetch_body_send(struct imap_cmd *cmd, struct imap_fetch_msg *m,
			 const struct imap_fetch_item *it, pz_error *err)
{
	if (imap_fetch_stream(cmd, m, err) < 0)
		return -1;
	if (it->binary)
		return send_binary(cmd, m, it, err);
	if (it->part[0] == '\0')
		return send_root(cmd, m, it);
	return send_part(cmd, m, it, err);
}
