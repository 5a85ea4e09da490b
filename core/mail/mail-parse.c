/* core/mail/mail-parse.c - the MIME part tree of a message. */
#include "config-core.h"
#include <string.h>
#include "pool.h"
#include "mail-content.h"
#include "mail-header.h"
#include "mail-reader.h"
#include "mail-parse.h"

/* Dovecot looks this far into a line that has no LF yet for a boundary. */
#define BOUNDARY_LOOK (MAIL_BOUNDARY_MAX + 4)

enum hdr_end { HDR_EOH, HDR_EOF, HDR_BOUNDARY };

struct parser {
	pz_pool *pool;
	struct mail_reader r;
	struct mail_hdr_scan scan;
	pz_mail_part *root, *cur;
	pz_mail_part *bound;   /* newest active boundary's owner */
	unsigned int parts;
	size_t kept;
};

/* A position with the line counters there. */
struct mark {
	uint64_t pos, lf, bare;
};

/* A boundary line found at the reader's position. */
struct found {
	pz_mail_part *owner;
	int epilogue;          /* "--boundary--" */
	int nl;                /* size of the line break before it */
};

static struct mark here(const struct parser *p)
{
	struct mark m = { p->r.pos, p->r.lf, p->r.bare };

	return m;
}

/* before_nl - the mark before the line break of `nl` bytes that ends
 * just before m. */
static struct mark before_nl(struct mark m, int nl)
{
	if (nl > 0) {
		m.pos -= (uint64_t)nl;
		m.lf--;
		if (nl == 1)
			m.bare--;
	}
	return m;
}

static pz_mail_part *part_new(struct parser *p, pz_mail_part *parent, struct mark m)
{
	pz_mail_part *part = pz_pool_alloc(p->pool, sizeof(*part));

	part->pool = p->pool;
	part->parent = parent;
	part->header_offset = m.pos;
	part->lf0 = m.lf;
	part->bare0 = m.bare;
	if (parent != NULL) {
		part->depth = parent->depth + 1;
		if (parent->last_child == NULL)
			parent->children = part;
		else
			parent->last_child->next = part;
		parent->last_child = part;
		parent->child_count++;
	}
	if (++p->parts >= MAIL_MAX_PARTS) {
		/* no more parts: everything left goes into this one */
		part->flags |= MAIL_PART_OVERFLOW | PZ_PART_DAMAGED;
		p->bound = NULL;
	}
	p->cur = part;
	return part;
}

static void header_done(pz_mail_part *part, struct mark m)
{
	part->header_size = m.pos - part->header_offset;
	part->header_lines = m.lf - part->lf0;
	part->header_vsize = part->header_size + (m.bare - part->bare0);
	part->body_offset = m.pos;
	part->lf1 = m.lf;
	part->bare1 = m.bare;
}

static void part_close(pz_mail_part *part, struct mark m)
{
	part->body_size = m.pos - part->body_offset;
	part->body_lines = m.lf - part->lf1;
	part->body_vsize = part->body_size + (m.bare - part->bare1);
	if ((part->flags & PZ_PART_MULTIPART) != 0 && part->children == NULL)
		part->flags |= PZ_PART_DAMAGED;
}

static void on_field(void *ctx, const char *name, size_t name_len,
		     const char *value, size_t value_len, int truncated)
{
	struct parser *p = ctx;
	pz_mail_part *part = p->cur;
	int keep = part->n_fields < MAIL_PART_FIELDS_MAX &&
		p->kept + name_len + value_len <= MAIL_KEEP_MAX;
	int wants = mail_content_wants(name);
	const char *raw = NULL, *shown;

	if (truncated)
		part->flags |= PZ_PART_DAMAGED;
	if (!keep && !wants)
		return;
	if (wants)
		raw = pz_pool_strndup(p->pool, value, value_len);
	if (keep) {
		struct mail_field *f;

		if (part->n_fields == part->a_fields) {
			unsigned int n = part->a_fields == 0 ? 16 : part->a_fields * 2;

			part->fields = pz_pool_realloc(p->pool, part->fields,
						       part->a_fields * sizeof(*part->fields),
						       n * sizeof(*part->fields));
			part->a_fields = n;
		}
		shown = raw != NULL && memchr(value, '\0', value_len) == NULL ? raw :
			mail_header_dup(p->pool, value, value_len);
		f = &part->fields[part->n_fields++];
		f->name = pz_pool_strndup(p->pool, name, name_len);
		f->value = shown;
		f->value_len = strlen(shown);
		p->kept += name_len + value_len;
	}
	if (wants)
		mail_content_field(part, name, raw, value_len);
}

/* boundary_at - the owner of the boundary the line is, or NULL. */
static pz_mail_part *boundary_at(const struct parser *p, const struct mail_line *l,
				 int *epilogue_r)
{
	const unsigned char *d = l->data + 2;
	size_t size, find;
	int dashes = 0;
	pz_mail_part *q, *best = NULL;

	if (l->len < 2 || l->data[0] != '-' || l->data[1] != '-')
		return NULL;
	size = l->len - 2;
	if (l->has_lf) {
		find = size;
		if (find > 0 && d[find - 1] == '\r')
			find--;
		dashes = find > 2 && d[find - 1] == '-' && d[find - 2] == '-';
	} else {
		find = size < BOUNDARY_LOOK ? size : BOUNDARY_LOOK;
	}
	/* newest first; only a prefix has to match, the longest wins, and
	 * the line itself (maybe without a closing "--") is the best */
	for (q = p->bound; q != NULL; q = q->bnext) {
		if (q->boundary_len <= find &&
		    memcmp(q->c.boundary, d, q->boundary_len) == 0 &&
		    (best == NULL || best->boundary_len < q->boundary_len)) {
			best = q;
			if (q->boundary_len == find || (dashes && q->boundary_len == find - 2))
				break;
		}
	}
	if (best != NULL)
		*epilogue_r = size >= best->boundary_len + 2 &&
			d[best->boundary_len] == '-' && d[best->boundary_len + 1] == '-';
	return best;
}

/* parse_header - read the header of p->cur: HDR_* or -1. */
static int parse_header(struct parser *p, struct found *f)
{
	pz_mail_part *part = p->cur;
	struct mail_line line;
	int ret, mid = 0, prev_nl = 0;

	for (;;) {
		size_t len;

		if ((ret = mail_reader_line(&p->r, &line)) < 0)
			return -1;
		if (ret == 0) {
			mail_hdr_scan_flush(&p->scan);
			header_done(part, here(p));
			return HDR_EOF;
		}
		len = line.len;
		if (line.has_lf && len > 0 && line.data[len - 1] == '\r')
			len--;
		if (!mid && p->bound != NULL &&
		    (f->owner = boundary_at(p, &line, &f->epilogue)) != NULL) {
			/* a boundary ends the header; the line break before it
			 * is the boundary's */
			mail_hdr_scan_flush(&p->scan);
			header_done(part, before_nl(here(p), prev_nl));
			f->nl = prev_nl;
			return HDR_BOUNDARY;
		}
		if (!mid && line.has_lf && len == 0) {
			mail_reader_skip(&p->r, line.total);
			mail_hdr_scan_flush(&p->scan);
			header_done(part, here(p));
			return HDR_EOH;
		}
		mail_hdr_scan_line(&p->scan, line.data, len, mid);
		mid = !line.has_lf;
		prev_nl = line.nl;
		mail_reader_skip(&p->r, line.total);
	}
}

/* settle - p->cur's header was read: its flags, limits, boundary. */
static void settle(struct parser *p, int end)
{
	pz_mail_part *part = p->cur;

	mail_content_finish(part);
	if ((part->flags & (PZ_PART_MULTIPART | PZ_PART_MESSAGE)) != 0 &&
	    part->depth + 1 >= MAIL_MAX_DEPTH) {
		part->flags |= MAIL_PART_OVERFLOW | PZ_PART_DAMAGED;
		part->flags &= ~(PZ_PART_MULTIPART | PZ_PART_MESSAGE | MAIL_PART_DIGEST);
	}
	if ((part->flags & PZ_PART_MULTIPART) == 0)
		return;
	if (end != HDR_EOH || part->c.boundary == NULL) {
		part->flags |= PZ_PART_DAMAGED;
		return;
	}
	part->boundary_len = strlen(part->c.boundary);
	part->bnext = p->bound;
	p->bound = part;
}

/* scan_body - read the body of p->cur up to a boundary line (1) or the
 * end (0); -1 on a read error. */
static int scan_body(struct parser *p, struct found *f)
{
	struct mail_line line;
	int ret, mid = 0, prev_nl = 0, first = 1;

	if (p->bound == NULL) {
		while (mail_reader_fill(&p->r, MAIL_READER_SIZE) > 0)
			mail_reader_skip(&p->r, p->r.end - p->r.start);
		return p->r.error ? -1 : 0;
	}
	for (;;) {
		if ((ret = mail_reader_line(&p->r, &line)) <= 0)
			return ret;
		if (!mid && (f->owner = boundary_at(p, &line, &f->epilogue)) != NULL) {
			/* at the start of the body no line break precedes */
			f->nl = first ? 0 : prev_nl;
			return 1;
		}
		mid = !line.has_lf;
		prev_nl = line.nl;
		first = 0;
		mail_reader_skip(&p->r, line.total);
	}
}

static void close_all(struct parser *p)
{
	struct mark m = here(p);
	pz_mail_part *q;

	for (q = p->cur; q != NULL; q = q->parent)
		part_close(q, m);
	for (q = p->bound; q != NULL; q = q->bnext)
		q->flags |= PZ_PART_DAMAGED; /* no closing boundary */
}

/* empty_children - a message part whose header ended at `m` still holds an
 * (empty) encapsulated message. */
static void empty_children(struct parser *p, struct mark m)
{
	while ((p->cur->flags & PZ_PART_MESSAGE) != 0) {
		pz_mail_part *child = part_new(p, p->cur, m);

		header_done(child, m);
		mail_content_finish(child);
	}
}

/* take_boundary - the boundary line at the reader ends the parts up to its
 * owner.  `cut` is the part whose header the line ended, if any: that one
 * and those inside it end before the line break, the parts around it
 * after it (so Dovecot counts it).  Returns 1 when a new part follows, 0
 * for more body of the owner, -1 at the end of the message. */
static int take_boundary(struct parser *p, const struct found *f, pz_mail_part *cut)
{
	struct mark at = here(p), near = before_nl(at, f->nl);
	struct mail_line line;
	pz_mail_part *q;
	int beyond = 0, ret;

	for (q = p->cur; q != f->owner; q = q->parent) {
		part_close(q, beyond ? at : near);
		if (q == cut)
			beyond = 1;
	}
	/* multiparts it ended had not seen their closing boundary */
	for (q = p->bound; q != NULL && q != f->owner; q = q->bnext)
		q->flags |= PZ_PART_DAMAGED;
	p->cur = f->owner;
	/* the rest of the boundary line */
	do {
		if ((ret = mail_reader_line(&p->r, &line)) <= 0)
			return -1;
		mail_reader_skip(&p->r, line.total);
	} while (!line.has_lf);
	if (f->epilogue) {
		p->bound = f->owner->bnext;
		return 0;
	}
	p->bound = f->owner; /* forget boundaries of parts it ended */
	part_new(p, f->owner, here(p))->flags |= MAIL_PART_IS_MIME;
	return 1;
}

/* run - the parse loop; 0 at the end of the message, -1 on read errors. */
static int run(struct parser *p)
{
	struct found f;
	int end, ret;

	for (;;) {
		if ((end = parse_header(p, &f)) < 0)
			return -1;
		settle(p, end);
		if (end == HDR_EOF) {
			empty_children(p, here(p));
			return 0;
		}
		if (end == HDR_BOUNDARY) {
			pz_mail_part *cut = p->cur;

			empty_children(p, before_nl(here(p), f.nl));
			ret = take_boundary(p, &f, cut);
		} else if ((p->cur->flags & PZ_PART_MESSAGE) != 0) {
			part_new(p, p->cur, here(p));
			continue;
		} else {
			ret = 0;
		}
		/* the body of p->cur, up to the boundary lines that end it */
		while (ret == 0) {
			if ((ret = scan_body(p, &f)) <= 0)
				return ret < 0 && p->r.error ? -1 : 0;
			ret = take_boundary(p, &f, NULL);
		}
		if (ret < 0)
			return p->r.error ? -1 : 0;
	}
}

int pz_mail_parse(pz_stream *msg, pz_pool *pool, pz_mail_part **root_r,
		  pz_error *err)
{
	struct parser p;
	int ret;

	memset(&p, 0, sizeof(p));
	p.pool = pool;
	mail_reader_init(&p.r, msg, 0);
	mail_hdr_scan_init(&p.scan, on_field, &p);
	p.root = part_new(&p, NULL, here(&p));
	ret = p.r.error ? -1 : run(&p);
	if (ret == 0)
		close_all(&p);
	mail_hdr_scan_free(&p.scan);
	mail_reader_free(&p.r);
	if (ret < 0 || p.r.error) {
		err->cls = PZ_ERR_TEMP;
		err->msg = "Failed to read the message";
		return -1;
	}
	*root_r = p.root;
	return 0;
}
