/*
 * sendmail/options.c - the command line of sendmail(8), as programs call
 * it (man/sendmail.8 lists each option).
 *
 * Owns: the meaning of each option. Pure: argv in, a struct out, no I/O,
 * so the unit test covers every row. Why so many ignored options: cron,
 * mail(1), PHP and friends pass Sendmail's and Postfix's options (-oem,
 * -odb, -N never, -B8BITMIME ...) and expect them to be taken; refusing
 * one would lose their mail over a flag that changes nothing here. What
 * would change something we cannot do (-bd, -bv, -q) is refused.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sendmail.h"

static int
usage_error(char *err, size_t errlen, const char *fmt, const char *arg)
{
	snprintf(err, errlen, fmt, arg);
	return -1;
}

/* The base name of argv[0] picks a mode: mailq, newaliases. */
static enum sm_mode
mode_of_progname(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base != NULL ? base + 1 : argv0;
	if (strcmp(base, "mailq") == 0)
		return SM_MODE_QUEUE_LIST;
	if (strcmp(base, "newaliases") == 0)
		return SM_MODE_NEWALIASES;
	return SM_MODE_DELIVER;
}

static int
option_b(struct sm_options *o, const char *arg, char *err, size_t errlen)
{
	if (strcmp(arg, "m") == 0)
		o->mode = SM_MODE_DELIVER;
	else if (strcmp(arg, "s") == 0)
		o->mode = SM_MODE_SMTP;
	else if (strcmp(arg, "p") == 0)
		o->mode = SM_MODE_QUEUE_LIST;
	else if (strcmp(arg, "i") == 0)
		o->mode = SM_MODE_NEWALIASES;
	else
		return usage_error(err, errlen, "-b%s is not supported (only -bm, -bs, -bp, -bi)", arg);
	return 0;
}

/* -o OPTION: only "i" (the same as -i) means something; -oXvalue forms
 * (-oem, -odb, -oQ/dir ...) are taken and ignored. */
static void
option_o(struct sm_options *o, const char *arg)
{
	if (strcmp(arg, "i") == 0)
		o->ignore_dots = true;
}

static int
option_B(struct sm_options *o, const char *arg, char *err, size_t errlen)
{
	if (strcasecmp(arg, "8BITMIME") == 0)
		o->body_8bit = true;
	else if (strcasecmp(arg, "7BIT") == 0)
		o->body_8bit = false;
	else
		return usage_error(err, errlen, "-B %s: expected 7BIT or 8BITMIME", arg);
	return 0;
}

static int
copy_arg(char *dst, size_t size, const char *arg, const char *what, char *err,
    size_t errlen)
{
	if (strlen(arg) >= size)
		return usage_error(err, errlen, "%s is too long", what);
	memcpy(dst, arg, strlen(arg) + 1);
	return 0;
}

static int
take_option(struct sm_options *o, int ch, const char *arg, char *err, size_t errlen)
{
	switch (ch) {
	case 'b':
		return option_b(o, arg, err, errlen);
	case 'B':
		return option_B(o, arg, err, errlen);
	case 'f':
	case 'r':
		o->has_sender = true;
		return copy_arg(o->sender, sizeof(o->sender), arg, "-f", err, errlen);
	case 'F':
		o->has_fullname = true;
		return copy_arg(o->fullname, sizeof(o->fullname), arg, "-F", err, errlen);
	case 'i':
		o->ignore_dots = true;
		return 0;
	case 'I':
		o->mode = SM_MODE_NEWALIASES;
		return 0;
	case 'o':
		option_o(o, arg);
		return 0;
	case 't':
		o->from_headers = true;
		return 0;
	case 'v':
		o->verbose = true;
		return 0;
	case 'C':
		o->config = arg;	/* Sendmail's config file: homemx.conf for -bp */
		return 0;
	case 'q':
		return usage_error(err, errlen, "-q%s: the queue is run by homemxd "
		    "(mxctl queue flush)", arg != NULL ? arg : "");
	/* taken for compatibility, meaning nothing here */
	case 'A': case 'G': case 'L': case 'N': case 'O': case 'R':
	case 'U': case 'V': case 'X': case 'c': case 'e': case 'h': case 'm':
	case 'n': case 'x': case 'p':
		return 0;
	default:
		return usage_error(err, errlen, "%s", "unknown option");
	}
}

int
sm_options_parse(int argc, char **argv, struct sm_options *o, char *err,
    size_t errlen)
{
	/* '+': options stop at the first recipient (POSIX), so an address
	 * starting with '-' after "--" is a recipient; ':' first: missing
	 * arguments are reported, not printed by getopt. */
	static const char optstring[] = "+:A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:ilmno:p:r:q::tvx";
	int ch;

	memset(o, 0, sizeof(*o));
	if (argc < 1)
		return usage_error(err, errlen, "%s", "no program name");
	o->mode = mode_of_progname(argv[0]);
	optind = 0;	/* glibc: start over (the unit test parses many times) */
	opterr = 0;
	while ((ch = getopt(argc, argv, optstring)) != -1) {
		if (ch == ':')
			return usage_error(err, errlen, "option -%s needs an argument",
			    (char[]){ (char)optopt, '\0' });
		if (ch == '?')
			return usage_error(err, errlen, "unknown option -%s",
			    (char[]){ (char)optopt, '\0' });
		if (take_option(o, ch, optarg, err, errlen) == -1)
			return -1;
	}
	o->rcpt_args = argv + optind;
	o->nrcpt_args = argc - optind;
	if (o->nrcpt_args > SM_RCPTS_MAX)
		return usage_error(err, errlen, "%s", "too many recipients");
	return 0;
}
