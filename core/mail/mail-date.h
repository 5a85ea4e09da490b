/* core/mail/mail-date.h - dates: IMAP date-time (RFC 9051 section 9,
 * "17-Jul-1996 02:44:25 -0700") and RFC 5322 Date: values, obsolete
 * forms included (section 4.3: day names, 2- and 3-digit years, named
 * zones).  Zones are minutes east of UTC. */
#ifndef POCZTA_CORE_MAIL_DATE_H
#define POCZTA_CORE_MAIL_DATE_H

#include <poczta/mail.h>
#include <time.h>

/* pz_imap_date_parse - host API: a date-time, with or without its
 * quotes; the day may be " 7", "07" or "7".  -1 when malformed. */
int pz_imap_date_parse(const char *s, time_t *t_r, int *tz_r);
/* pz_imap_date_format - host API: `t` shown in zone `tz`. */
void pz_imap_date_format(time_t t, int tz, char buf[PZ_IMAP_DATE_MAX]);
/* pz_mail_date_parse - host API: a Date: value.  A missing zone, and the
 * military and unknown zone names, count as -0000 (RFC 5322 4.3).  -1
 * when no date can be read. */
int pz_mail_date_parse(const char *s, time_t *t_r, int *tz_r);

/* mail_date_day - the day number (days since 1970-01-01) of `t` in zone
 * `tz`: what "disregarding time and timezone" compares (RFC 9051 6.4.4). */
int64_t mail_date_day(time_t t, int tz);

#endif
