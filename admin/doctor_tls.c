/*
 * admin/doctor_tls.c - the doctor talks to our own listeners, as a sender
 * and a mail client would: the certificate each TLS port serves (validity,
 * expiry within DOCTOR_CERT_WARN_DAYS, name match, the public CAs, the
 * file it came from), and the self-tests that must be refused: port 25
 * relaying to an outside domain, 587/465 taking mail without AUTH.
 *
 * Owns: the probes (one connection per listen line, made before the DNS
 * checks and read-only afterwards) and their findings. A wildcard
 * listener is reached on loopback (127.0.0.1, ::1), any other at its own
 * address. Port 25 never relays: even from loopback, a trusted network,
 * the RCPT to a domain that is not ours must get a 5xx (smtpd/inbound.c);
 * the doctor sends RSET and QUIT and never DATA, so even a broken server
 * relays nothing.
 */
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "doctor.h"
#include "doctor_net.h"
#include "doctor_watch.h"
#include "util.h"

#define SMTP_LINE_MAX		1000	/* RFC 5321 4.5.3.1.5 */
#define SMTP_LINES_MAX		64
#define RELAY_TEST_LOCAL	"homemx-doctor-relay-test"

struct smtp {
	struct dnet	net;
	char		buf[SMTP_LINE_MAX * 2];
	size_t		len;
};

struct reply {
	int	code;
	char	text[SMTP_LINE_MAX + 1];	/* the last line */
	bool	starttls;			/* an EHLO line says STARTTLS */
};

/* ---- a small SMTP client ---------------------------------------------------------- */

/* One line without its CRLF; -1 on EOF, timeout or a line too long. */
static int
read_line(struct smtp *s, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(s->buf, '\n', s->len);
		if (nl != NULL) {
			size_t n = (size_t)(nl - s->buf);
			size_t keep = n > 0 && s->buf[n - 1] == '\r' ? n - 1 : n;
			if (keep >= size)
				return -1;
			memcpy(line, s->buf, keep);
			line[keep] = '\0';
			s->len -= n + 1;
			memmove(s->buf, nl + 1, s->len);
			return 0;
		}
		if (s->len == sizeof(s->buf))
			return -1;
		ssize_t k = dnet_read(&s->net, s->buf + s->len, sizeof(s->buf) - s->len);
		if (k <= 0)
			return -1;
		s->len += (size_t)k;
	}
}

/* A whole reply (RFC 5321 4.2.1); -1 if it does not come or parse. */
static int
read_reply(struct smtp *s, struct reply *r)
{
	char line[SMTP_LINE_MAX + 1];

	memset(r, 0, sizeof(*r));
	for (int i = 0; i < SMTP_LINES_MAX; i++) {
		if (read_line(s, line, sizeof(line)) == -1 || strlen(line) < 3 ||
		    line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
		    line[2] < '0' || line[2] > '9' || (line[3] != '\0' && line[3] != ' ' &&
		    line[3] != '-'))
			return -1;
		r->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		if (strncasecmp(line + 4, "STARTTLS", 8) == 0 &&
		    (line[12] == '\0' || line[12] == ' '))
			r->starttls = true;
		snprintf(r->text, sizeof(r->text), "%s", line);
		for (char *p = r->text; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
		if (line[3] != '-')
			return 0;
	}
	return -1;
}

static int
command(struct smtp *s, struct reply *r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
command(struct smtp *s, struct reply *r, const char *fmt, ...)
{
	char line[SMTP_LINE_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return -1;
	memcpy(line + n, "\r\n", 2);
	if (dnet_write(&s->net, line, (size_t)n + 2) == -1)
		return -1;
	return read_reply(s, r);
}

/* ---- one listener ------------------------------------------------------------------- */

static void
target_of(const struct listen_conf *c, char *ip, size_t size, unsigned *port)
{
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)&c->addr;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&c->addr;

	if (c->addr.ss_family == AF_INET6) {
		*port = ntohs(s6->sin6_port);
		if (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr))
			snprintf(ip, size, "::1");
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, (socklen_t)size);
	} else {
		*port = ntohs(s4->sin_port);
		if (s4->sin_addr.s_addr == htonl(INADDR_ANY))
			snprintf(ip, size, "127.0.0.1");
		else
			inet_ntop(AF_INET, &s4->sin_addr, ip, (socklen_t)size);
	}
}

static int
handshake(struct doctor *d, struct dr_listener *l, struct smtp *s)
{
	STACK_OF(X509) *sk;

	if (dnet_tls(&s->net, d->hostname, NULL, l->error, sizeof(l->error)) == -1)
		return -1;
	l->handshake = true;
	snprintf(l->tls_version, sizeof(l->tls_version), "%s", SSL_get_version(s->net.ssl));
	s->len = 0;
	if ((sk = SSL_get_peer_cert_chain(s->net.ssl)) != NULL)
		cert_chain_from_stack(sk, &l->chain);
	if (l->chain.n > 0)
		l->verifies = cert_chain_verify(&l->chain, d->hostname, l->verify_why,
		    sizeof(l->verify_why)) == 0;
	return 0;
}

/* Banner, EHLO, STARTTLS when offered (or TLS at once on 465), EHLO again. */
static int
greet(struct doctor *d, struct dr_listener *l, struct smtp *s)
{
	struct reply r;

	if (l->conf->kind == LISTEN_SUBMISSIONS) {
		l->tls_offered = true;
		if (handshake(d, l, s) == -1)
			return -1;
	}
	if (read_reply(s, &r) == -1 || r.code != 220 ||
	    command(s, &r, "EHLO %s", d->hostname) == -1 || r.code != 250) {
		snprintf(l->error, sizeof(l->error), "the SMTP greeting failed (%.150s)",
		    r.text[0] ? r.text : "no reply");
		return -1;
	}
	if (l->conf->kind == LISTEN_SUBMISSIONS || !r.starttls)
		return 0;
	l->tls_offered = true;
	if (command(s, &r, "STARTTLS") == -1 || r.code != 220) {
		snprintf(l->error, sizeof(l->error), "STARTTLS was refused (%.150s)",
		    r.text[0] ? r.text : "no reply");
		return -1;
	}
	if (handshake(d, l, s) == -1)
		return -1;
	if (command(s, &r, "EHLO %s", d->hostname) == -1 || r.code != 250) {
		snprintf(l->error, sizeof(l->error), "EHLO after STARTTLS failed");
		return -1;
	}
	return 0;
}

/* Port 25: RCPT to an outside domain. 587/465: MAIL without AUTH. */
static void
try_relay(struct dr_listener *l, struct smtp *s, const char *outside, const char *our_domain)
{
	struct reply r;

	l->relay_tried = true;
	if (l->conf->kind == LISTEN_SMTP) {
		snprintf(l->relay_rcpt, sizeof(l->relay_rcpt), "%s@%s", RELAY_TEST_LOCAL, outside);
		if (command(s, &r, "MAIL FROM:<>") == -1 || r.code != 250 ||
		    command(s, &r, "RCPT TO:<%s>", l->relay_rcpt) == -1) {
			l->relay_code = 0;
			snprintf(l->relay_reply, sizeof(l->relay_reply), "%.150s",
			    r.text[0] ? r.text : "no reply");
			return;
		}
	} else {
		snprintf(l->relay_rcpt, sizeof(l->relay_rcpt), "%s@%s", RELAY_TEST_LOCAL, outside);
		if (command(s, &r, "MAIL FROM:<postmaster@%s>", our_domain) == -1) {
			snprintf(l->relay_reply, sizeof(l->relay_reply), "no reply");
			return;
		}
		if (r.code == 250 && command(s, &r, "RCPT TO:<%s>", l->relay_rcpt) == -1) {
			snprintf(l->relay_reply, sizeof(l->relay_reply), "no reply");
			return;
		}
	}
	l->relay_code = r.code;
	snprintf(l->relay_reply, sizeof(l->relay_reply), "%.150s", r.text);
	(void)command(s, &r, "RSET");
}

static void
probe_one(struct doctor *d, struct dr_listener *l, const char *outside)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
	struct smtp s;
	struct reply r;

	memset(&s, 0, sizeof(s));
	target_of(l->conf, ip, sizeof(ip), &port);
	snprintf(l->target, sizeof(l->target), strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
	if (dnet_connect(&s.net, ip, port, DNET_TIMEOUT_MS, l->error, sizeof(l->error)) == -1)
		return;
	l->reached = true;
	if (greet(d, l, &s) == 0)
		try_relay(l, &s, outside, d->ndomains > 0 ? d->dom[0].name : d->hostname);
	if (l->relay_tried)
		(void)command(&s, &r, "QUIT");
	dnet_close(&s.net);
}

void
doctor_probe_listeners(struct doctor *d, const char *outside)
{
	d->nlisteners = 0;
	for (size_t i = 0; i < d->cfg->nlisten && i < CONFIG_MAX_LISTEN; i++) {
		struct dr_listener *l = &d->listener[d->nlisteners++];
		memset(l, 0, sizeof(*l));
		l->conf = &d->cfg->listen[i];
		probe_one(d, l, outside);
	}
	d->listeners_probed = true;
}

const struct dr_listener *
doctor_smtp_listener(const struct doctor *d)
{
	for (size_t i = 0; d->listeners_probed && i < d->nlisteners; i++)
		if (d->listener[i].conf->kind == LISTEN_SMTP && d->listener[i].reached)
			return &d->listener[i];
	return NULL;
}

/* ---- findings ------------------------------------------------------------------------- */

struct issues {
	enum dr_status	status;
	char		what[DR_WHAT_MAX + 1];
	char		fix[DR_FIX_MAX + 1];
};

static void
issue(struct issues *is, enum dr_status st, const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
issue(struct issues *is, enum dr_status st, const char *fix, const char *fmt, ...)
{
	size_t len = strlen(is->what);
	va_list ap;

	if (st > is->status)
		is->status = st;
	if (len > 0 && len < sizeof(is->what) - 2)
		len += (size_t)snprintf(is->what + len, sizeof(is->what) - len, "; ");
	va_start(ap, fmt);
	vsnprintf(is->what + len, sizeof(is->what) - len, fmt, ap);
	va_end(ap);
	if (fix != NULL && (len = strlen(is->fix)) < sizeof(is->fix) - 2)
		snprintf(is->fix + len, sizeof(is->fix) - len, "%s%s", len ? "; " : "", fix);
}

static void
judge_certificate(struct doctor *d, const struct dr_listener *l, struct issues *is)
{
	X509 *leaf = l->chain.x[0];
	bool not_yet;
	long left = cert_seconds_left(leaf, d->now, &not_yet), days = left / 86400;
	char names[200], fix[DR_FIX_MAX / 2];

	cert_names_text(leaf, names, sizeof(names));
	if (not_yet)
		issue(is, DR_FAIL, "check the clock of this host, or install a certificate that "
		    "is valid now", "the certificate is not valid yet");
	if (left <= 0)
		issue(is, DR_FAIL, "renew it (certbot renew), then reload homemxd", "the "
		    "certificate expired %ld days ago", -days);
	else if (days < DOCTOR_CERT_WARN_DAYS)
		issue(is, DR_WARN, "renew it (certbot renew), then reload homemxd", "the "
		    "certificate expires in %ld days", days);
	if (!cert_names_host(leaf, d->hostname)) {
		snprintf(fix, sizeof(fix), "get a certificate for %s (e.g. certbot certonly -d "
		    "%s)", d->hostname, d->hostname);
		issue(is, DR_FAIL, fix, "the certificate names %s, not %s", names[0] ? names :
		    "nothing", d->hostname);
	} else if (!l->verifies && !not_yet && left > 0)
		issue(is, DR_WARN, "use a certificate from a public CA (e.g. Let's Encrypt, "
		    "certbot)", "the certificate does not verify against the public CAs (%s): "
		    "senders that check (MTA-STS) refuse it", l->verify_why);
	if (d->configured.n > 0 && !cert_equal(leaf, d->configured.x[0]))
		issue(is, DR_WARN, "reload or restart homemxd so that it reads the file again",
		    "it is not the certificate in tls_certificate (a renewal not loaded yet?)");
	if (is->status == DR_OK)
		issue(is, DR_OK, NULL, "%s, %s, valid %ld more days, verifies for %s",
		    l->tls_version, names, days, d->hostname);
}

static const char *
kind_name(enum listen_kind k)
{
	return k == LISTEN_SMTP ? "smtp" : k == LISTEN_SUBMISSION ? "submission" : "submissions";
}

static void
listener_tls(struct doctor *d, const struct dr_listener *l, struct dr_report *r)
{
	struct issues is = { DR_OK, "", "" };
	char id[DR_ID_MAX + 1];

	snprintf(id, sizeof(id), "tls %s %s", kind_name(l->conf->kind), l->conf->text);
	if (!l->reached)
		issue(&is, DR_FAIL, "start homemxd (or check the listen line)", "cannot connect "
		    "to %s: %s", l->target, l->error);
	else if (!l->tls_offered && d->cfg->tls_certificate[0] == '\0')
		issue(&is, DR_WARN, "set tls_certificate and tls_key (e.g. from certbot) and "
		    "restart homemxd", "no STARTTLS: mail to us travels in clear, MTA-STS and "
		    "DANE are impossible");
	else if (!l->tls_offered)
		issue(&is, DR_FAIL, "restart homemxd", "tls_certificate is set but %s offers no "
		    "STARTTLS", l->target);
	else if (!l->handshake)
		issue(&is, DR_FAIL, "check tls_certificate and tls_key (homemxd -n), then restart "
		    "homemxd", "TLS with %s failed: %s", l->target, l->error);
	else if (l->chain.n == 0)
		issue(&is, DR_FAIL, "check tls_certificate", "%s sent no certificate", l->target);
	else
		judge_certificate(d, l, &is);
	dr_add(r, is.status, id, is.fix[0] ? is.fix : NULL, "%s", is.what);
}

static void
listener_relay(const struct dr_listener *l, struct dr_report *r)
{
	bool smtp = l->conf->kind == LISTEN_SMTP;
	char id[DR_ID_MAX + 1];

	if (!l->relay_tried)
		return;
	snprintf(id, sizeof(id), "%s %s", smtp ? "open_relay" : "auth_required", l->conf->text);
	if (l->relay_code >= 500)
		dr_add(r, DR_OK, id, NULL, "%s refused: %s", smtp ? "relaying to an outside "
		    "domain" : "mail without AUTH", l->relay_reply);
	else if (l->relay_code >= 200 && l->relay_code < 300)
		dr_add(r, DR_FAIL, id, "stop homemxd now and report a bug: nothing in the "
		    "config makes homemx relay", "%s: the server accepted <%s> (%s)", smtp ?
		    "AN OPEN RELAY" : "mail accepted without AUTH", l->relay_rcpt, l->relay_reply);
	else
		dr_add(r, DR_WARN, id, "run the doctor again; look at homemxd's log",
		    "the self-test got no clear answer: %s", l->relay_reply[0] ?
		    l->relay_reply : "no reply");
}

void
doctor_check_listeners(struct doctor *d, struct dr_report *r)
{
	if (!d->listeners_probed)
		return;
	if (d->cert_err[0] != '\0')
		dr_add(r, DR_FAIL, "tls_certificate", "fix the file, then restart homemxd",
		    "%s", d->cert_err);
	for (size_t i = 0; i < d->nlisteners; i++) {
		listener_tls(d, &d->listener[i], r);
		listener_relay(&d->listener[i], r);
	}
}

/* ---- the watch's mail ---------------------------------------------------------------- */

/* A port-25 listener reachable on loopback: a wildcard or a loopback one. */
static const struct listen_conf *
loopback_smtp(const struct config *c)
{
	for (size_t i = 0; i < c->nlisten; i++) {
		const struct listen_conf *l = &c->listen[i];
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&l->addr;
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&l->addr;
		if (l->kind != LISTEN_SMTP)
			continue;
		if (l->addr.ss_family == AF_INET && (s4->sin_addr.s_addr == htonl(INADDR_ANY) ||
		    (ntohl(s4->sin_addr.s_addr) >> 24) == 127))
			return l;
		if (l->addr.ss_family == AF_INET6 && (IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr) ||
		    IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr)))
			return l;
	}
	return NULL;
}

/* The body with CRLF line ends and leading dots doubled (RFC 5321 4.5.2). */
static int
send_body(struct smtp *s, const char *body)
{
	for (const char *p = body; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t n = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if ((*p == '.' && dnet_write(&s->net, ".", 1) == -1) ||
		    dnet_write(&s->net, p, n) == -1 || dnet_write(&s->net, "\r\n", 2) == -1)
			return -1;
		p += n + (nl != NULL ? 1 : 0);
	}
	return 0;
}

static int
send_headers(struct smtp *s, const struct doctor *d, const char *rcpt, const char *subject)
{
	char head[1024], date[64], id[17];
	time_t now = time(NULL);
	struct tm tm;

	make_queue_id(id);
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm) == 0)
		return -1;
	snprintf(head, sizeof(head), "From: mxctl doctor <MAILER-DAEMON@%s>\r\nTo: <%s>\r\n"
	    "Subject: %s\r\nDate: %s\r\nMessage-ID: <doctor.%s@%s>\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nAuto-Submitted: auto-generated\r\n\r\n",
	    d->hostname, rcpt, subject, date, id, d->hostname);
	return dnet_write(&s->net, head, strlen(head));
}

int
doctor_send_mail(const struct doctor *d, const char *rcpt, const char *subject,
    const char *body, char *err, size_t errsize)
{
	const struct listen_conf *l = loopback_smtp(d->cfg);
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
	struct smtp s;
	struct reply r;
	int rc = -1;

	if (l == NULL) {
		snprintf(err, errsize, "no port-25 listener on loopback or a wildcard address");
		return -1;
	}
	memset(&s, 0, sizeof(s));
	target_of(l, ip, sizeof(ip), &port);
	if (dnet_connect(&s.net, ip, port, DNET_TIMEOUT_MS, err, errsize) == -1)
		return -1;
	if (read_reply(&s, &r) == -1 || r.code != 220 ||
	    command(&s, &r, "EHLO %s", d->hostname) == -1 || r.code != 250 ||
	    command(&s, &r, "MAIL FROM:<>") == -1 || r.code != 250 ||
	    command(&s, &r, "RCPT TO:<%s>", rcpt) == -1 || r.code != 250 ||
	    command(&s, &r, "DATA") == -1 || r.code != 354 ||
	    send_headers(&s, d, rcpt, subject) == -1 || send_body(&s, body) == -1 ||
	    command(&s, &r, ".") == -1 || r.code != 250)
		snprintf(err, errsize, "%s refused it: %.150s", l->text, r.text[0] ? r.text :
		    "no reply");
	else
		rc = 0;
	(void)command(&s, &r, "QUIT");
	dnet_close(&s.net);
	return rc;
}
