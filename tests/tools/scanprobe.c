/*
 * tests/tools/scanprobe.c - runs the scan driver (screen/scanner.c) over
 * one message against the scanners a homemx.conf names, and prints the
 * results, for tests/e2e/test_screen_scanners.py.
 *
 *   scanprobe -f CONF [-p PREFIXFILE] [-s OFF:LEN]... [-i IP] [-H HELO]
 *             [-n PTR] [-F FROM] [-R RCPT]... [-q QID] [-c MS] MESSAGE
 * -c cancels the job MS milliseconds after it started and prints
 *   "cancelled jobs=N" (N: jobs still in flight, 0 when the cancel freed it).
 *
 * Output, tab-separated, one line per scanner in the order rspamd, spamd,
 * clamd, then the score hook's view:
 *   result SCANNER STATUS score=S threshold=T spam=0|1 action=A symbols=S
 *          virus_found=0|1 virus=V sent=BYTES why=WHY
 *   score ITEMS			(screen/score.h's score_format)
 *   findings virus=0|1 virus_name=V tempfail=0|1 tempfail_scanners=LIST
 * Exit 2 when the config does not load or the driver refuses the request.
 *
 * Owns nothing beyond one run. Why a tool rather than a unit test: the
 * driver's job is talking to real daemons (their framing, their timing,
 * their refusals), which only real daemons show.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "../../screen/scanner.h"
#include "config.h"
#include "log.h"
#include "util.h"

static struct event_base	*base;
static bool			 called_back;
static const struct config	*cfg;

static void
on_done(const struct scan_result *res, size_t n, void *arg)
{
	struct score s;
	struct scan_findings f;
	char line[4096];

	(void)arg;
	called_back = true;
	for (size_t i = 0; i < n; i++) {
		const struct scan_result *r = &res[i];
		printf("result\t%s\t%s\tscore=%.2f\tthreshold=%.2f\tspam=%d\taction=%s\t"
		    "symbols=%s\tvirus_found=%d\tvirus=%s\tsent=%llu\twhy=%s\n",
		    scan_kind_name(r->kind), scan_status_name(r->status), r->score,
		    r->threshold, r->spam ? 1 : 0, r->action, r->symbols,
		    r->virus_found ? 1 : 0, r->virus, (unsigned long long)r->sent, r->why);
	}
	score_init(&s);
	scanner_score(&cfg->screen.scan, res, n, &s, &f);
	score_format(&s, line, sizeof(line));
	printf("score\t%s\n", line);
	printf("findings\tvirus=%d\tvirus_name=%s\ttempfail=%d\ttempfail_scanners=%s\n",
	    f.virus ? 1 : 0, f.virus_name, f.tempfail ? 1 : 0, f.tempfail_scanners);
	event_base_loopexit(base, NULL);
}

static void
on_cancel(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	scanner_cancel(arg);
	printf("cancelled\tjobs=%zu\n", scanner_count());
	event_base_loopexit(base, NULL);
}

static void
usage(void)
{
	fprintf(stderr, "usage: scanprobe -f CONF [-p PREFIXFILE] [-s OFF:LEN]... [-i IP] "
	    "[-H HELO] [-n PTR] [-F FROM] [-R RCPT]... [-q QID] [-c MS] MESSAGE\n");
	exit(1);
}

static char *
read_file(const char *path, size_t *len)
{
	static char buf[SCAN_PREFIX_MAX + 1];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd == -1 || (n = read(fd, buf, sizeof(buf))) < 0 || (size_t)n > SCAN_PREFIX_MAX)
		usage();
	close(fd);
	*len = (size_t)n;
	return buf;
}

int
main(int argc, char **argv)
{
	static struct config c;
	static const char *rcpts[SCAN_RCPTS_MAX];
	static struct authres_range skips[SCAN_SKIPS_MAX + 1];
	struct scan_request rq = { .fd = -1 };
	char err[CONFIG_ERR_MAX], *text;
	const char *conf = NULL, *why;
	size_t textlen, nskip = 0;
	int ch, cancel_ms = -1;

	log_init("scanprobe", LOG_SINK_STDERR);
	signal(SIGPIPE, SIG_IGN);
	rq.env = (struct scan_envelope){ "probe", "", "192.0.2.1", "", "", "", rcpts, 0,
	    "mx.example.test" };
	while ((ch = getopt(argc, argv, "f:p:s:i:H:n:F:R:q:c:")) != -1) {
		switch (ch) {
		case 'f':	conf = optarg;				break;
		case 'p':	rq.prefix = read_file(optarg, &rq.prefix_len);	break;
		case 's':
			if (nskip > SCAN_SKIPS_MAX || sscanf(optarg, "%zu:%zu",
			    &skips[nskip].off, &skips[nskip].len) != 2)
				usage();
			nskip++;
			break;
		case 'i':	rq.env.client_ip = optarg;		break;
		case 'H':	rq.env.helo = optarg;			break;
		case 'n':	rq.env.ptr = optarg;			break;
		case 'F':	rq.env.mail_from = optarg;		break;
		case 'R':
			if (rq.env.nrcpts == SCAN_RCPTS_MAX)
				usage();
			rcpts[rq.env.nrcpts++] = optarg;
			break;
		case 'q':	rq.env.qid = optarg;			break;
		case 'c':	cancel_ms = atoi(optarg);		break;
		default:	usage();
		}
	}
	if (conf == NULL || optind + 1 != argc)
		usage();
	if (config_load(conf, &c, &text, &textlen, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	free(text);
	cfg = &c;
	if ((rq.fd = open(argv[optind], O_RDONLY | O_CLOEXEC)) == -1)
		fatal("%s", argv[optind]);
	rq.skip = skips;
	rq.nskip = nskip;
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	struct scanner_params p = { base, &c.screen.scan, false };
	struct scanner_job *job = scanner_start(&p, &rq, on_done, NULL, &why);
	close(rq.fd);	/* the job has its own */
	if (job == NULL) {
		fprintf(stderr, "scanner_start: %s\n", why);
		event_base_free(base);
		return 2;
	}
	struct event *ev = NULL;
	if (cancel_ms >= 0) {
		struct timeval tv = { cancel_ms / 1000, (cancel_ms % 1000) * 1000 };
		ev = evtimer_new(base, on_cancel, job);
		evtimer_add(ev, &tv);
	}
	event_base_dispatch(base);
	if (ev != NULL)
		event_free(ev);
	if (cancel_ms >= 0 && called_back)
		printf("called back before the cancel\n");
	event_base_free(base);
	return 0;
}
