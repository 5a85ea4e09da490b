/* tests/fuzz/fuzz-imap-parser.c - the IMAP command parser under libFuzzer:
 * the input is a client's byte stream, fed in pieces whose sizes come from
 * the input itself, with every literal decision (accept, taken by the
 * caller, refused) exercised; each parsed command's tree is walked. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "../../modules/imap/imap-parser.h"

#define ARENA_MAX 4096

struct arena {
	void *blocks[ARENA_MAX];
	size_t count;
};

static void *arena_alloc(void *ctx, size_t size)
{
	struct arena *a = ctx;
	void *p;

	if (a->count == ARENA_MAX)
		abort(); /* the parser's limits must keep it below this */
	p = calloc(1, size == 0 ? 1 : size);
	if (p == NULL)
		abort();
	a->blocks[a->count++] = p;
	return p;
}

static void arena_clear(struct arena *a)
{
	while (a->count > 0)
		free(a->blocks[--a->count]);
}

/* walk - touch every byte of the tree, as a command would. */
static size_t walk(const struct imap_arg *args, unsigned int count, unsigned int depth)
{
	size_t sum = 0;
	unsigned int i;

	if (depth > IMAP_PARSER_MAX_DEPTH + 1)
		abort();
	for (i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i];

		if (a->type == IMAP_ARG_LIST) {
			sum += walk(a->list, a->count, depth + 1);
		} else {
			size_t k;

			for (k = 0; k < a->len; k++)
				sum += (unsigned char)a->str[k];
			if (a->str[a->len] != '\0' && a->type != IMAP_ARG_LITERAL_TAKEN)
				abort();
			sum += imap_arg_atom_equals(a, "NIL");
		}
	}
	return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct imap_parser_limits limits = {
		.max_token = 256, .max_literal = 512, .max_total = 2048,
		.max_depth = 8, .max_args = 64,
	};
	static struct arena arena;
	static char tok[257];
	struct imap_parser p;
	size_t off = 0, step = 1;
	volatile size_t sink = 0;

	imap_parser_init(&p, &limits, tok, arena_alloc, &arena);
	while (off < size) {
		size_t n = step < size - off ? step : size - off, used = 0;
		uint64_t raw = imap_parser_raw_wanted(&p);
		enum imap_parse_result r;

		if (raw > 0 && raw < n)
			n = (size_t)raw;
		r = imap_parser_feed(&p, data + off, n, &used);
		off += used;
		step = (step * 7 + 3) % 23 + 1;
		switch (r) {
		case IMAP_PARSE_LITERAL:
			if (p.literal_size % 3 == 0) {
				/* the caller reads the literal itself */
				uint64_t skip = p.literal_size;

				off += skip < size - off ? (size_t)skip : size - off;
				imap_parser_literal_taken(&p);
			} else if (p.literal_size % 3 == 1) {
				imap_parser_fail(&p);
			} else {
				(void)imap_parser_literal_accept(&p);
			}
			break;
		case IMAP_PARSE_DONE:
			sink += walk(p.args, p.count, 0) + strlen(p.tag) + strlen(p.name);
			/* fall through */
		case IMAP_PARSE_ERROR:
		case IMAP_PARSE_SKIPPED:
			if (r == IMAP_PARSE_ERROR && (p.error == NULL || strlen(p.tag) > IMAP_MAX_TAG))
				abort();
			imap_parser_reset(&p);
			arena_clear(&arena);
			break;
		case IMAP_PARSE_MORE:
			if (used != n)
				abort(); /* MORE means all input was taken */
			break;
		}
	}
	(void)sink;
	arena_clear(&arena);
	return 0;
}
