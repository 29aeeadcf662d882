/*
 * screen/scanner.c - the scan driver (screen/scanner.h): one job per
 * message, one non-blocking connection per configured scanner, one timer.
 *
 * Owns: every job in flight and its connections. A connection goes
 * connect -> send (head, then the body: prefix and message pieces, framed
 * for clamd) -> read until its parser (screen/scan_proto.h) is done; it
 * reads from the start, so a scanner that answers before the whole
 * message is in (clamd over its limit, rspamd refusing) is heard. When
 * every connection is done, or the timer fires, the job reports and is
 * freed. Why pread() on a duplicate of the caller's fd: every connection
 * reads the same bytes at its own pace, the caller's file offset is never
 * touched, and the caller may close its fd once the job started.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "scan_proto.h"
#include "util.h"

#define SCAN_CHUNK	65536	/* message bytes per send (and per clamd chunk) */
#define CLAMD_FRAME	4	/* the big-endian length before each chunk */
#define SEND_ROUNDS	4	/* chunks sent per write event */

struct scan_proto {
	bool		framed;		/* clamd: length-prefixed chunks, 0 at the end */
	enum scan_parse	(*parse)(const uint8_t *, size_t, bool, struct scan_result *);
};

static const struct scan_proto protos[SCAN_KINDS] = {
	[SCAN_RSPAMD] = { false, scan_rspamd_parse },
	[SCAN_SPAMD] = { false, scan_spamd_parse },
	[SCAN_CLAMD] = { true, scan_clamd_parse },
};

enum conn_state { C_CONNECTING, C_SENDING, C_WAITING, C_DONE };

struct scan_conn {
	struct scanner_job	*job;
	const struct scan_proto	*proto;
	struct scan_result	*res;
	enum conn_state		 state;
	int			 fd;
	struct event		*ev_read, *ev_write;
	char			*head;		/* the request head, malloc'd */
	size_t			 head_len, head_off;
	uint64_t		 body_off;	/* body bytes staged so far */
	bool			 trailer_staged;	/* clamd's zero length */
	uint8_t			*out;		/* staged bytes: CLAMD_FRAME + SCAN_CHUNK */
	size_t			 out_len, out_off;
	uint8_t			*in;		/* the reply so far */
	size_t			 in_len;
	bool			 write_closed;	/* the scanner stopped reading */
	double			 started;
};

struct scanner_job {
	int			 fd;		/* our duplicate of the message fd */
	uint64_t		 file_size;
	char			*prefix;
	size_t			 prefix_len;
	struct authres_range	 skip[SCAN_SKIPS_MAX];
	size_t			 nskip;
	uint64_t		 body_len;	/* prefix + message - skips */
	char			 sess[SCREEN_SESS_MAX + 1];
	char			 qid[SCREEN_QID_MAX + 1];
	struct scan_conn	 conn[SCAN_KINDS];
	struct scan_result	 results[SCAN_KINDS];
	size_t			 n, pending;
	unsigned		 timeout;
	struct event		*ev_timeout, *ev_finish;
	scanner_done_fn		 done;
	void			*arg;
	bool			 finishing;
};

static size_t njobs;

static const char *const status_names[] = {
	[SCAN_STATUS_OK] = "ok",
	[SCAN_STATUS_SKIPPED] = "skipped",
	[SCAN_STATUS_TEMPFAIL] = "tempfail",
};

const char *
scan_status_name(enum scan_status s)
{
	return s <= SCAN_STATUS_TEMPFAIL ? status_names[s] : "?";
}

size_t
scanner_count(void)
{
	return njobs;
}

/* ---- skip ranges ------------------------------------------------------- */

static int
range_cmp(const void *a, const void *b)
{
	const struct authres_range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

size_t
scanner_normalize_skips(struct authres_range *r, size_t n, uint64_t size)
{
	size_t kept = 0;

	qsort(r, n, sizeof(*r), range_cmp);
	for (size_t i = 0; i < n; i++) {
		uint64_t off = r[i].off, end = off + r[i].len;
		if (end < off || end > size)
			end = size;	/* past the end: up to it */
		if (off >= end)
			continue;
		if (kept > 0 && off <= r[kept - 1].off + r[kept - 1].len) {
			uint64_t prev_end = r[kept - 1].off + r[kept - 1].len;
			if (end > prev_end)
				r[kept - 1].len = (size_t)(end - r[kept - 1].off);
			continue;
		}
		r[kept].off = (size_t)off;
		r[kept++].len = (size_t)(end - off);
	}
	return kept;
}

/* ---- the end of a connection and of a job ------------------------------- */

static void
conn_close(struct scan_conn *c)
{
	if (c->ev_read != NULL)
		event_free(c->ev_read);
	if (c->ev_write != NULL)
		event_free(c->ev_write);
	c->ev_read = c->ev_write = NULL;
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->head);
	free(c->out);
	free(c->in);
	c->head = NULL;
	c->out = c->in = NULL;
}

static void
job_free(struct scanner_job *j)
{
	for (size_t i = 0; i < j->n; i++)
		conn_close(&j->conn[i]);
	event_free(j->ev_timeout);
	event_free(j->ev_finish);
	if (j->fd != -1)
		close(j->fd);
	free(j->prefix);
	free(j);
	njobs--;
}

void
scanner_cancel(struct scanner_job *j)
{
	if (j != NULL && !j->finishing)
		job_free(j);
}

static void
log_result(const struct scanner_job *j, const struct scan_result *r)
{
	char detail[SCAN_SYMBOLS_MAX + SCAN_VIRUS_MAX + 128] = "";

	if (r->status == SCAN_STATUS_OK && r->kind == SCAN_CLAMD)
		snprintf(detail, sizeof(detail), " virus=\"%s\"",
		    r->virus_found ? r->virus : "");
	else if (r->status == SCAN_STATUS_OK)
		snprintf(detail, sizeof(detail), " score=%.2f threshold=%.2f "
		    "action=\"%s\" symbols=\"%s\"", r->score, r->threshold, r->action,
		    r->symbols);
	log_event("scan", "sess=%s qid=%s scanner=%s result=%s%s why=\"%s\" "
	    "bytes=%llu ms=%.0f", j->sess, j->qid, scan_kind_name(r->kind),
	    scan_status_name(r->status), detail, r->why,
	    (unsigned long long)r->sent, r->elapsed * 1000);
}

static void
job_finish(struct scanner_job *j)
{
	for (size_t i = 0; i < j->n; i++)
		log_result(j, &j->results[i]);
	j->finishing = true;
	j->done(j->results, j->n, j->arg);
	job_free(j);
}

/* Ends c with its result already filled; the job reports after the last. */
static void
conn_done(struct scan_conn *c)
{
	struct scanner_job *j = c->job;

	if (c->state == C_DONE)
		return;
	c->state = C_DONE;
	c->res->elapsed = mono_now() - c->started;
	conn_close(c);
	if (--j->pending == 0)
		event_active(j->ev_finish, EV_TIMEOUT, 0);
}

static void
conn_fail(struct scan_conn *c, enum scan_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conn_fail(struct scan_conn *c, enum scan_status status, const char *fmt, ...)
{
	va_list ap;

	c->res->status = status;
	va_start(ap, fmt);
	vsnprintf(c->res->why, sizeof(c->res->why), fmt, ap);
	va_end(ap);
	conn_done(c);
}

/* ---- the body: prefix, then the message without the skips --------------- */

/* Copies up to max body bytes from body offset pos into dst; -1 on a read error. */
static ssize_t
body_read(const struct scanner_job *j, uint64_t pos, uint8_t *dst, size_t max)
{
	if (pos < j->prefix_len) {
		size_t n = j->prefix_len - (size_t)pos < max ? j->prefix_len - (size_t)pos : max;
		memcpy(dst, j->prefix + pos, n);
		return (ssize_t)n;
	}
	/* map the body offset to a file offset: step over the skips before it */
	uint64_t file = pos - j->prefix_len, next_skip = j->file_size;
	for (size_t i = 0; i < j->nskip; i++) {
		if (j->skip[i].off <= file)
			file += j->skip[i].len;
		else {
			next_skip = j->skip[i].off;
			break;
		}
	}
	uint64_t left = next_skip - file;
	size_t want = left < max ? (size_t)left : max;
	ssize_t n;
	do
		n = pread(j->fd, dst, want, (off_t)file);
	while (n == -1 && errno == EINTR);
	return n <= 0 ? -1 : n;		/* 0: the file shrank under us */
}

/* Fills c->out with the next bytes to send; false when nothing is left. */
static bool
stage_next(struct scan_conn *c)
{
	struct scanner_job *j = c->job;
	size_t frame = c->proto->framed ? CLAMD_FRAME : 0;

	c->out_off = c->out_len = 0;
	if (c->head_off < c->head_len) {
		size_t n = c->head_len - c->head_off;
		n = n < SCAN_CHUNK ? n : SCAN_CHUNK;
		memcpy(c->out, c->head + c->head_off, n);
		c->head_off += n;
		c->out_len = n;
		return true;
	}
	if (c->body_off < j->body_len) {
		ssize_t n = body_read(j, c->body_off, c->out + frame, SCAN_CHUNK);
		if (n == -1)
			return false;	/* conn_fill reports it */
		c->body_off += (uint64_t)n;
		c->res->sent = c->body_off;
		if (frame > 0) {
			c->out[0] = (uint8_t)((uint64_t)n >> 24);
			c->out[1] = (uint8_t)((uint64_t)n >> 16);
			c->out[2] = (uint8_t)((uint64_t)n >> 8);
			c->out[3] = (uint8_t)n;
		}
		c->out_len = frame + (size_t)n;
		return true;
	}
	if (frame > 0 && !c->trailer_staged) {
		memset(c->out, 0, CLAMD_FRAME);
		c->out_len = CLAMD_FRAME;
		c->trailer_staged = true;
		return true;
	}
	return false;
}

/* ---- events ------------------------------------------------------------- */

static void
conn_parse(struct scan_conn *c, bool eof)
{
	switch (c->proto->parse(c->in, c->in_len, eof, c->res)) {
	case SCAN_PARSE_MORE:
		if (eof)	/* parsers never say so at eof; be safe */
			conn_fail(c, SCAN_STATUS_TEMPFAIL, "bad reply: cut short");
		else if (c->in_len == SCAN_REPLY_MAX)
			conn_fail(c, SCAN_STATUS_TEMPFAIL, "bad reply: longer than %d bytes",
			    SCAN_REPLY_MAX);
		return;
	case SCAN_PARSE_BAD:
		c->res->status = SCAN_STATUS_TEMPFAIL;
		conn_done(c);
		return;
	case SCAN_PARSE_DONE:
		conn_done(c);
		return;
	}
}

static void
on_read(evutil_socket_t fd, short what, void *arg)
{
	struct scan_conn *c = arg;
	ssize_t n;

	(void)what;
	if (c->in == NULL)
		c->in = xmalloc(SCAN_REPLY_MAX);
	n = recv(fd, c->in + c->in_len, SCAN_REPLY_MAX - c->in_len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1 && c->in_len == 0) {
		conn_fail(c, SCAN_STATUS_TEMPFAIL, "connection lost: %s", strerror(errno));
		return;
	}
	if (n > 0)
		c->in_len += (size_t)n;
	conn_parse(c, n <= 0);
}

static void
conn_connected(struct scan_conn *c)
{
	c->state = C_SENDING;
	if (event_add(c->ev_read, NULL) == -1)
		fatalx("scanner: event_add");
}

static void
on_write(evutil_socket_t fd, short what, void *arg)
{
	struct scan_conn *c = arg;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)what;
	if (c->state == C_CONNECTING) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			conn_fail(c, SCAN_STATUS_TEMPFAIL, "connect: %s", strerror(err));
			return;
		}
		conn_connected(c);
	}
	/* at most SEND_ROUNDS chunks per wakeup: a fast local scanner must not
	 * keep the loop from other sessions for a whole 25 MB message */
	for (int round = 0; round < SEND_ROUNDS && c->state == C_SENDING; round++) {
		if (c->out_off == c->out_len && !stage_next(c)) {
			if (c->body_off < c->job->body_len) {
				conn_fail(c, SCAN_STATUS_TEMPFAIL, "reading the message failed");
				return;
			}
			c->state = C_WAITING;	/* all sent: the answer comes on_read */
			event_del(c->ev_write);
			return;
		}
		ssize_t n = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1) {
			/* it stopped reading (EPIPE, ECONNRESET): an answer may
			 * still be waiting (clamd over its limit), on_read sees */
			c->write_closed = true;
			c->state = C_WAITING;
			event_del(c->ev_write);
			return;
		}
		c->out_off += (size_t)n;
	}
}

/* ---- start ------------------------------------------------------------- */

static int
conn_socket(const struct scan_target *t, bool chrooted, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	if (!t->is_unix) {
		memcpy(ss, &t->addr, t->addrlen);
		*sslen = t->addrlen;
		return socket(t->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;
	const char *path = chrooted ? t->path_in_jail : t->path;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", path);
	*sslen = sizeof(*sun);
	return socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

static void
conn_head(struct scan_conn *c, enum scan_kind kind, const struct scan_envelope *env)
{
	uint64_t body = c->job->body_len;
	size_t need;

	switch (kind) {
	case SCAN_RSPAMD:
		need = scan_rspamd_head(env, body, NULL, 0);
		c->head = xmalloc(need);
		scan_rspamd_head(env, body, c->head, need);
		break;
	case SCAN_SPAMD:
		need = scan_spamd_head(body, NULL, 0);
		c->head = xmalloc(need);
		scan_spamd_head(body, c->head, need);
		break;
	default:
		need = scan_clamd_head(NULL, 0);
		c->head = xmalloc(need);
		scan_clamd_head(c->head, need);
		break;
	}
	c->head_len = need;
}

static void
conn_start(struct scanner_job *j, struct scan_conn *c, const struct scan_target *t,
    const struct scanner_params *p, struct event_base *base)
{
	struct sockaddr_storage ss;
	socklen_t sslen;

	c->started = mono_now();
	if (j->body_len > t->max_size) {
		conn_fail(c, SCAN_STATUS_SKIPPED, "over %s_max_size (%llu > %llu bytes)",
		    scan_kind_name(c->res->kind), (unsigned long long)j->body_len,
		    (unsigned long long)t->max_size);
		return;
	}
	if ((c->fd = conn_socket(t, p->chrooted, &ss, &sslen)) == -1) {
		conn_fail(c, SCAN_STATUS_TEMPFAIL, "socket: %s", strerror(errno));
		return;
	}
	c->out = xmalloc(CLAMD_FRAME + SCAN_CHUNK);
	c->ev_read = event_new(base, c->fd, EV_READ | EV_PERSIST, on_read, c);
	c->ev_write = event_new(base, c->fd, EV_WRITE | EV_PERSIST, on_write, c);
	if (c->ev_read == NULL || c->ev_write == NULL)
		fatalx("scanner: out of memory");
	c->state = C_CONNECTING;
	if (connect(c->fd, (struct sockaddr *)&ss, sslen) == 0)
		conn_connected(c);
	else if (errno != EINPROGRESS) {
		/* ECONNREFUSED, ENOENT (no socket), EAGAIN (a UNIX backlog full) */
		conn_fail(c, SCAN_STATUS_TEMPFAIL, "connect %s: %s", t->text, strerror(errno));
		return;
	}
	if (event_add(c->ev_write, NULL) == -1)
		fatalx("scanner: event_add");
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	static const char *const stage[] = { "connecting", "sending", "waiting for the answer" };
	struct scanner_job *j = arg;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < j->n; i++) {
		struct scan_conn *c = &j->conn[i];
		if (c->state != C_DONE)
			conn_fail(c, SCAN_STATUS_TEMPFAIL, "timeout after %us (%s)", j->timeout,
			    stage[c->state]);
	}
}

static void
on_finish(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	job_finish(arg);
}

static void
copy_field(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
	for (char *p = dst; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || *p == '"' || *p == 0x7f)
			*p = '?';
}

/* Checks the request and copies what the job keeps; NULL with why. */
static struct scanner_job *
job_new(const struct scan_request *rq, const char **why)
{
	struct stat st;
	struct scanner_job *j;

	if (rq->prefix_len > SCAN_PREFIX_MAX || (rq->prefix_len > 0 && rq->prefix == NULL)) {
		*why = "prefix over SCAN_PREFIX_MAX";
		return NULL;
	}
	if (rq->nskip > SCAN_SKIPS_MAX) {
		*why = "more than SCAN_SKIPS_MAX ranges to leave out";
		return NULL;
	}
	if (fstat(rq->fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		*why = "the message fd is not a regular file";
		return NULL;
	}
	j = xcalloc(1, sizeof(*j));
	if ((j->fd = fcntl(rq->fd, F_DUPFD_CLOEXEC, 0)) == -1) {
		*why = "cannot duplicate the message fd";
		free(j);
		return NULL;
	}
	j->file_size = (uint64_t)st.st_size;
	j->prefix_len = rq->prefix_len;
	j->prefix = xmalloc(rq->prefix_len + 1);
	if (rq->prefix_len > 0)
		memcpy(j->prefix, rq->prefix, rq->prefix_len);
	if (rq->nskip > 0)
		memcpy(j->skip, rq->skip, rq->nskip * sizeof(rq->skip[0]));
	j->nskip = scanner_normalize_skips(j->skip, rq->nskip, j->file_size);
	j->body_len = j->prefix_len + j->file_size;
	for (size_t i = 0; i < j->nskip; i++)
		j->body_len -= j->skip[i].len;
	copy_field(j->sess, sizeof(j->sess), rq->env.sess);
	copy_field(j->qid, sizeof(j->qid), rq->env.qid);
	njobs++;
	return j;
}

struct scanner_job *
scanner_start(const struct scanner_params *p, const struct scan_request *rq,
    scanner_done_fn done, void *arg, const char **why)
{
	struct scanner_job *j = job_new(rq, why);
	struct timeval tv = { p->cfg->timeout, 0 };

	if (j == NULL)
		return NULL;
	j->done = done;
	j->arg = arg;
	j->timeout = p->cfg->timeout;
	j->ev_timeout = evtimer_new(p->base, on_timeout, j);
	j->ev_finish = event_new(p->base, -1, 0, on_finish, j);
	if (j->ev_timeout == NULL || j->ev_finish == NULL)
		fatalx("scanner: out of memory");
	for (int k = 0; k < SCAN_KINDS; k++) {
		if (!p->cfg->target[k].enabled)
			continue;
		struct scan_conn *c = &j->conn[j->n];
		c->job = j;
		c->fd = -1;
		c->proto = &protos[k];
		c->res = &j->results[j->n];
		c->res->kind = (enum scan_kind)k;
		j->n++;
	}
	j->pending = j->n;
	if (j->n == 0)
		event_active(j->ev_finish, EV_TIMEOUT, 0);
	evtimer_add(j->ev_timeout, &tv);
	/* conn_done may count pending down to 0 here: the report is an event */
	for (size_t i = 0; i < j->n; i++) {
		conn_head(&j->conn[i], j->results[i].kind, &rq->env);
		conn_start(j, &j->conn[i], &p->cfg->target[j->results[i].kind], p, p->base);
	}
	return j;
}

/* ---- the score hook ------------------------------------------------------ */

int
scanner_contribution(double score, uint32_t weight)
{
	double v = score * (double)weight / 100.0;

	if (!(v > 0))
		return 0;
	if (v >= SCREEN_WEIGHT_LIMIT)
		return SCREEN_WEIGHT_LIMIT;
	return (int)(v + 0.5);	/* v > 0: rounds half up */
}

static void
note_tempfail(struct scan_findings *f, const struct scan_result *r)
{
	size_t o = strlen(f->tempfail_scanners);

	f->tempfail = true;
	snprintf(f->tempfail_scanners + o, sizeof(f->tempfail_scanners) - o, "%s%s",
	    o > 0 ? "," : "", scan_kind_name(r->kind));
}

void
scanner_score(const struct scan_config *cfg, const struct scan_result *res,
    size_t n, struct score *s, struct scan_findings *f)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < n; i++) {
		const struct scan_result *r = &res[i];
		const char *name = r->kind == SCAN_CLAMD ? "virus" : scan_kind_name(r->kind);
		if (r->status == SCAN_STATUS_TEMPFAIL)
			note_tempfail(f, r);
		if (r->status != SCAN_STATUS_OK) {
			score_add(s, name, 0, "%s: %s", scan_status_name(r->status), r->why);
		} else if (r->kind == SCAN_CLAMD) {
			if (r->virus_found) {
				f->virus = true;
				snprintf(f->virus_name, sizeof(f->virus_name), "%s", r->virus);
			}
			score_add(s, name, 0, "%s", r->virus_found ? r->virus : "clean");
		} else {
			int w = scanner_contribution(r->score, cfg->target[r->kind].weight);
			score_add(s, name, w, "score=%.2f/%.2f%s%s%s", r->score, r->threshold,
			    r->action[0] != '\0' ? " action=" : "", r->action,
			    r->spam ? " spam" : "");
		}
	}
}
