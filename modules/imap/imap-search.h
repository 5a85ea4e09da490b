/* modules/imap/imap-search.h - a parsed SEARCH command, shared by the
 * criteria parser (imap-search.c) and the evaluation (imap-search-run.c). */
#ifndef POCZTA_IMAP_SEARCH_H
#define POCZTA_IMAP_SEARCH_H

#include "imap.h"

/* RETURN options (RFC 4731, RFC 5182). */
#define SEARCH_RET_MIN 0x01u
#define SEARCH_RET_MAX 0x02u
#define SEARCH_RET_ALL 0x04u
#define SEARCH_RET_COUNT 0x08u
#define SEARCH_RET_SAVE 0x10u

struct imap_search {
	struct pz_search_key *key;  /* an AND of the criteria */
	unsigned int ret;           /* SEARCH_RET_* */
	int esearch;                /* answer with ESEARCH */
	int has_modseq;             /* a MODSEQ criterion: report MODSEQ */
	const char *charset;        /* NULL: UTF-8 or US-ASCII */
};

/* imap_search_parse - 0, -1 with a reason for BAD, -2 for BADCHARSET. */
int imap_search_parse(struct imap_cmd *cmd, struct imap_search *srch, const char **error_r);
void imap_search_run(struct imap_cmd *cmd, struct imap_search *srch);

#endif
