/* core/mail/mail-date.c - IMAP and RFC 5322 dates. */
#include "config-core.h"
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "mail-date.h"

static const char months[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* days_from_civil - days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era;
	unsigned int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y_r, unsigned int *m_r,
			    unsigned int *d_r)
{
	int64_t era, y;
	unsigned int doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned int)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d_r = doy - (153 * mp + 2) / 5 + 1;
	*m_r = mp < 10 ? mp + 3 : mp - 9;
	*y_r = y + (*m_r <= 2);
}

static unsigned int days_in_month(int64_t y, unsigned int m)
{
	static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

static int month_number(const char *s, size_t len)
{
	unsigned int i;

	if (len < 3)
		return 0;
	for (i = 0; i < 12; i++) {
		if (strncasecmp(s, months[i], 3) == 0)
			return (int)i + 1;
	}
	return 0;
}

/* make_time - UTC seconds of a local date and time in zone `tz`. */
static int make_time(int64_t y, unsigned int mo, unsigned int d, unsigned int h,
		     unsigned int mi, unsigned int s, int tz, time_t *t_r)
{
	int64_t t;

	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
	    mi > 59 || s > 60 || y < 1 || y > 9999)
		return -1;
	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - (int64_t)tz * 60;
	if ((time_t)t != t)
		return -1;
	*t_r = (time_t)t;
	return 0;
}

/* digits - read 1..max digits at *p. */
static int digits(const char **p, unsigned int min, unsigned int max, unsigned int *v_r)
{
	unsigned int n = 0, v = 0;

	while (n < max && isdigit((unsigned char)(*p)[n])) {
		v = v * 10 + (unsigned int)((*p)[n] - '0');
		n++;
	}
	if (n < min)
		return -1;
	*p += n;
	*v_r = v;
	return 0;
}

int pz_imap_date_parse(const char *s, time_t *t_r, int *tz_r)
{
	const char *p = s;
	unsigned int d, y, h, mi, sec, zh, zm;
	int mo, quoted = *p == '"', sign;

	if (quoted)
		p++;
	if (*p == ' ')
		p++;
	if (digits(&p, 1, 2, &d) < 0 || *p++ != '-')
		return -1;
	if ((mo = month_number(p, 3)) == 0 || p[3] != '-')
		return -1;
	p += 4;
	if (digits(&p, 4, 4, &y) < 0 || *p++ != ' ' ||
	    digits(&p, 2, 2, &h) < 0 || *p++ != ':' ||
	    digits(&p, 2, 2, &mi) < 0 || *p++ != ':' ||
	    digits(&p, 2, 2, &sec) < 0 || *p++ != ' ')
		return -1;
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (digits(&p, 2, 2, &zh) < 0 || digits(&p, 2, 2, &zm) < 0 || zm > 59)
		return -1;
	if (quoted && *p++ != '"')
		return -1;
	if (*p != '\0')
		return -1;
	*tz_r = sign * (int)(zh * 60 + zm);
	return make_time(y, (unsigned int)mo, d, h, mi, sec, *tz_r, t_r);
}

int64_t mail_date_day(time_t t, int tz)
{
	int64_t local = (int64_t)t + (int64_t)tz * 60;

	return (local >= 0 ? local : local - 86399) / 86400;
}

void pz_imap_date_format(time_t t, int tz, char buf[PZ_IMAP_DATE_MAX])
{
	int64_t local = (int64_t)t + (int64_t)tz * 60, day, y;
	unsigned int mo, d, secs, atz = (unsigned int)(tz < 0 ? -tz : tz);

	day = mail_date_day(t, tz);
	secs = (unsigned int)(local - day * 86400);
	civil_from_days(day, &y, &mo, &d);
	if (y < 0 || y > 9999 || atz > 99 * 60 + 59) {
		y = 1970, mo = 1, d = 1, secs = 0, tz = 0, atz = 0;
	}
	snprintf(buf, PZ_IMAP_DATE_MAX, "%02u-%.3s-%04d %02u:%02u:%02u %c%02u%02u",
		 d, months[mo - 1], (int)y, secs / 3600, secs / 60 % 60, secs % 60,
		 tz < 0 ? '-' : '+', atz / 60, atz % 60);
}

/* ---- RFC 5322 dates */

/* skip_cfws - blanks, line breaks and (nested) comments. */
static const char *skip_cfws(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '(')
			return p;
		{
			int level = 0;

			do {
				if (*p == '\\' && p[1] != '\0')
					p++;
				else if (*p == '(')
					level++;
				else if (*p == ')')
					level--;
				p++;
			} while (*p != '\0' && level > 0);
		}
	}
}

/* zone_name - offset of an obsolete zone name, 0 for unknown ones (they
 * mean -0000, as military zones do). */
static int zone_name(const char *z, size_t len)
{
	static const struct { const char *name; int minutes; } zones[] = {
		{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
		{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 }, { "CDT", -300 },
		{ "MST", -420 }, { "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
	};
	unsigned int i;

	for (i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		if (strlen(zones[i].name) == len && strncasecmp(z, zones[i].name, len) == 0)
			return zones[i].minutes;
	}
	return 0;
}

int pz_mail_date_parse(const char *s, time_t *t_r, int *tz_r)
{
	const char *p = skip_cfws(s), *w;
	unsigned int d, y, h, mi, sec = 0, ydigits, zh, zm;
	int mo, tz = 0;

	/* [day-of-week ","] */
	if (isalpha((unsigned char)*p)) {
		while (isalpha((unsigned char)*p))
			p++;
		p = skip_cfws(p);
		if (*p == ',')
			p = skip_cfws(p + 1);
	}
	if (digits(&p, 1, 2, &d) < 0)
		return -1;
	p = skip_cfws(p);
	if (*p == '-')
		p = skip_cfws(p + 1);
	for (w = p; isalpha((unsigned char)*p); p++)
		;
	if ((mo = month_number(w, (size_t)(p - w))) == 0)
		return -1;
	p = skip_cfws(p);
	if (*p == '-')
		p = skip_cfws(p + 1);
	w = p;
	if (digits(&p, 2, 4, &y) < 0)
		return -1;
	ydigits = (unsigned int)(p - w);
	/* RFC 5322 4.3: 2 digits are 1950..2049, 3 digits add 1900 */
	if (ydigits == 2)
		y += y < 50 ? 2000 : 1900;
	else if (ydigits == 3)
		y += 1900;
	p = skip_cfws(p);
	if (digits(&p, 1, 2, &h) < 0)
		return -1;
	p = skip_cfws(p);
	if (*p != ':')
		return -1;
	p = skip_cfws(p + 1);
	if (digits(&p, 1, 2, &mi) < 0)
		return -1;
	p = skip_cfws(p);
	if (*p == ':') {
		p = skip_cfws(p + 1);
		if (digits(&p, 1, 2, &sec) < 0)
			return -1;
		p = skip_cfws(p);
	}
	if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1])) {
		int sign = *p == '-' ? -1 : 1;

		p++;
		if (digits(&p, 2, 2, &zh) < 0 || digits(&p, 2, 2, &zm) < 0 || zm > 59)
			return -1;
		tz = sign * (int)(zh * 60 + zm);
	} else if (isalpha((unsigned char)*p)) {
		for (w = p; isalpha((unsigned char)*p); p++)
			;
		tz = zone_name(w, (size_t)(p - w));
	}
	*tz_r = tz;
	return make_time(y, (unsigned int)mo, d, h, mi, sec, tz, t_r);
}
