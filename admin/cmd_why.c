/*
 * admin/cmd_why.c - `mxctl why REF|SESSION|QUEUEID`: the breakdown of past
 * screen verdicts, read from the screen's memory (screen/memory.h).
 *
 * Owns: the printed form of a verdict. The screen records each verdict as
 * its log line (screen/judge.c, key=value); this file splits that line back
 * into its fields and prints one check per line with its weight, so an
 * admin sees at once why a sender was refused or delayed. Why read the
 * memory and not the log: logs rotate and live elsewhere; the memory keeps
 * verdict_memory days, and a queue id leads to its session.
 * As root it runs as the owner of screen_dir, so that nothing it opens
 * becomes unreadable for the screen role.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../screen/memory.h"
#include "mxctl.h"

#define WHY_FIELDS_MAX	16
#define WHY_VALUE_MAX	1024

struct why_field {
	char	key[24];
	char	value[WHY_VALUE_MAX];
};

/* Splits `key=value key="quoted \"value\""` into fields (log.c's escapes). */
static size_t
why_split(const char *line, struct why_field *f, size_t max)
{
	size_t n = 0;
	const char *p = line;

	while (*p != '\0' && n < max) {
		while (*p == ' ')
			p++;
		const char *eq = strchr(p, '=');
		if (eq == NULL || (size_t)(eq - p) >= sizeof(f[n].key))
			break;
		memcpy(f[n].key, p, (size_t)(eq - p));
		f[n].key[eq - p] = '\0';
		p = eq + 1;
		size_t o = 0;
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				if (o < sizeof(f[n].value) - 1)
					f[n].value[o++] = *p;
			}
			if (*p == '"')
				p++;
		} else {
			for (; *p != '\0' && *p != ' '; p++)
				if (o < sizeof(f[n].value) - 1)
					f[n].value[o++] = *p;
		}
		f[n++].value[o] = '\0';
	}
	return n;
}

static const char *
why_get(const struct why_field *f, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].key, key) == 0)
			return f[i].value;
	return "-";
}

/* "no_ptr:+4 dnsbl:zen.example:+10 x:?+0..+8": one per line, aligned. */
static void
why_print_checks(const char *checks)
{
	char buf[WHY_VALUE_MAX], *save = NULL;
	bool first = true;

	snprintf(buf, sizeof(buf), "%s", checks);
	for (char *t = strtok_r(buf, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
		char *colon = strrchr(t, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		printf("  %-9s%-32s %s%s\n", first ? "checks" : "", t, colon[1] == '?' ?
		    colon + 2 : colon + 1, colon[1] == '?' ? "  (DNS did not answer)" : "");
		first = false;
	}
	if (first)
		printf("  %-9s(none)\n", "checks");
}

static int
why_print(const char *ref, time_t when, const char *text, void *arg)
{
	struct why_field f[WHY_FIELDS_MAX];
	size_t n = why_split(text, f, WHY_FIELDS_MAX);
	char stamp[32];
	struct tm tm;

	(void)arg;
	gmtime_r(&when, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	printf("ref %s at %s\n", ref, stamp);
	printf("  %-9s%s (ptr %s) helo \"%s\"\n", "client", why_get(f, n, "ip"),
	    why_get(f, n, "ptr"), why_get(f, n, "helo"));
	printf("  %-9s%s to %s\n", "from", why_get(f, n, "from"), why_get(f, n, "to"));
	printf("  %-9s%s (%s), score %s, greylist %s, dns %s\n", "verdict",
	    why_get(f, n, "verdict"), why_get(f, n, "reply"), why_get(f, n, "score"),
	    why_get(f, n, "greylist"), why_get(f, n, "dns"));
	why_print_checks(why_get(f, n, "checks"));
	return 0;
}

/* A reference (7f3a09c2-1), a session id (7f3a09c2) or a queue id (16 hex). */
static bool
why_arg_valid(const char *s)
{
	size_t n = strlen(s), hex = 0;

	if (n == 0 || n > SCREEN_REF_MAX)
		return false;
	while (hex < n && isxdigit((unsigned char)s[hex]))
		hex++;
	if (hex == n)
		return true;
	if (s[hex] != '-' || hex == 0 || hex + 1 == n)
		return false;
	for (size_t i = hex + 1; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

int
cmd_why(struct mxctl *m, int argc, char **argv)
{
	const struct screen_config *sc = &m->cfg.screen;
	char err[MEMORY_ERR_MAX];
	struct screen_memory *mem;
	char what[SCREEN_REF_MAX + 1], dir[CONFIG_PATH_MAX + 16];
	int found;

	(void)argc;
	if (!why_arg_valid(argv[0])) {
		mx_fail(m, "why: expected a reference such as 7f3a09c2-1, a session "
		    "id such as 7f3a09c2 or a queue id, got '%s'", argv[0]);
		return MX_FAIL;
	}
	if (mx_become_owner_of(m, sc->screen_dir) == -1)
		return MX_FAIL;
	snprintf(err, sizeof(err), "screen_dir is too long");
	if (memory_dir(sc->screen_dir, dir, sizeof(dir)) == -1 ||
	    (mem = memory_open(dir, sc->memory_max_entries, err, sizeof(err))) == NULL) {
		mx_fail(m, "%s", err);
		return MX_FAIL;
	}
	for (size_t i = 0; i <= strlen(argv[0]); i++)
		what[i] = (char)tolower((unsigned char)argv[0][i]);
	found = memory_find(mem, what, why_print, NULL);
	if (found == -1)
		mx_fail(m, "screen memory: %s", memory_error(mem));
	memory_close(mem);
	if (found == 0)
		mx_fail(m, "no verdict for '%s' in the screen memory (it keeps "
		    "verdict_memory = %us)", argv[0], sc->verdict_memory);
	return found > 0 ? MX_OK : MX_FAIL;
}
