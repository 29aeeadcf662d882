/*
 * admin/ctlclient.c - mxctl's side of homemxd's control socket.
 *
 * Owns: the connection (one question per run), and the check of what
 * comes back: each frame passes the message table and the decoder of
 * lib/ipc_ctl.c, as any frame between roles does, so that nothing homemxd
 * or a role sends can put a control byte on the admin's terminal. Why a
 * blocking socket and no event loop: mxctl asks once and waits; `log -f`
 * reads until the admin ends it.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctlclient.h"
#include "ipc_decode.h"
#include "jsonout.h"
#include "log.h"
#include "util.h"

static int
ctl_connect(struct mxctl *m)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char path[CONFIG_PATH_MAX + 16];
	int fd;

	if (ctl_socket_path(&m->cfg, path, sizeof(path)) == -1 ||
	    strlen(path) >= sizeof(sun.sun_path))
		return mx_fail(m, "control socket path too long");
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) == -1)
		return mx_fail(m, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		int err = errno;
		close(fd);
		if (err == ENOENT || err == ECONNREFUSED)
			return mx_fail(m, "homemxd is not running (no control socket at %s)",
			    path);
		if (err == EACCES || err == EPERM)
			return mx_fail(m, "permission denied on %s: root or the %s group only",
			    path, m->cfg.control_group);
		return mx_fail(m, "connect %s: %s", path, strerror(err));
	}
	return fd;
}

static void
rec_add(struct ctl_result *res, const struct msg_ctl_answer *a, unsigned r)
{
	if (res->nrec == res->cap) {
		res->cap = res->cap == 0 ? 64 : res->cap * 2;
		res->rec = reallocarray(res->rec, res->cap, sizeof(*res->rec));
		if (res->rec == NULL)
			fatalx("out of memory");
	}
	struct ctl_rec *out = &res->rec[res->nrec++];
	out->n = a->rec[r].n;
	for (unsigned i = 0; i < out->n; i++) {
		const struct ctl_field *f = &a->field[a->rec[r].first + i];
		out->key[i] = xstrdup(f->key);
		out->value[i] = xstrdup(f->value);
		out->number[i] = f->kind == CTL_KIND_NUMBER;
	}
}

void
ctl_result_free(struct ctl_result *res)
{
	for (size_t r = 0; r < res->nrec; r++)
		for (unsigned i = 0; i < res->rec[r].n; i++) {
			free(res->rec[r].key[i]);
			free(res->rec[r].value[i]);
		}
	free(res->rec);
	memset(res, 0, sizeof(*res));
}

const char *
ctl_rec_get(const struct ctl_rec *r, const char *key)
{
	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(r->key[i], key) == 0)
			return r->value[i];
	return NULL;
}

/* Reads one frame and checks it; -1 with m->err. */
static int
read_answer(struct mxctl *m, int fd, uint8_t *buf, size_t size,
    struct msg_ctl_answer *a)
{
	struct ipc_frame f;
	const char *why;
	ssize_t n;

	do
		n = recv(fd, buf, size, 0);
	while (n == -1 && errno == EINTR);
	if (n == 0)
		return mx_fail(m, "homemxd closed the connection (it is stopping?)");
	if (n == -1)
		return mx_fail(m, "reading from homemxd: %s", strerror(errno));
	if (ipc_frame_parse(buf, (size_t)n, &f, &why) == -1 ||
	    ipc_frame_check(ROLE_SUPERVISOR, ROLE_SUPERVISOR, f.type, f.len, false,
	    &why) == -1 || f.type != MSG_CTL_ANSWER ||
	    ipc_decode_ctl_answer(&f, a, &why) == -1)
		return mx_fail(m, "bad answer from homemxd: %s", f.type != MSG_CTL_ANSWER ?
		    "unexpected message" : why);
	return 0;
}

int
ctl_ask(struct mxctl *m, enum ctl_verb verb, unsigned nargs,
    const char *const *args, struct ctl_result *res, ctl_frame_fn *each, void *arg)
{
	static uint8_t buf[IPC_HEADER_SIZE + IPC_MAX_PAYLOAD];
	static struct msg_ctl_answer a;
	struct ipc_builder *b = xmalloc(sizeof(*b));
	int fd, r = -1;

	memset(res, 0, sizeof(*res));
	for (unsigned i = 0; i < nargs; i++)
		if (strlen(args[i]) == 0 || strlen(args[i]) > CTL_ARG_MAX ||
		    strpbrk(args[i], " \t\r\n") != NULL) {
			free(b);
			return mx_fail(m, "bad argument '%s'", args[i]);
		}
	if ((fd = ctl_connect(m)) == -1) {
		free(b);
		return -1;
	}
	ipc_encode_ctl_ask(b, verb, nargs, args);
	if (ipc_send_now(fd, ROLE_SUPERVISOR, ROLE_SUPERVISOR, MSG_CTL_ASK, b) == -1) {
		/* homemxd may have refused us and hung up first: its reason
		 * is waiting to be read. */
		int err = errno;
		if (read_answer(m, fd, buf, sizeof(buf), &a) == 0 && a.status != CTL_MORE) {
			res->status = a.status;
			snprintf(res->text, sizeof(res->text), "%s", a.text);
			r = 0;
		} else
			mx_fail(m, "cannot send to homemxd: %s", strerror(err));
		goto out;
	}
	for (;;) {
		if (read_answer(m, fd, buf, sizeof(buf), &a) == -1)
			goto out;
		res->status = a.status;
		snprintf(res->text, sizeof(res->text), "%s", a.text);
		if (each != NULL) {
			if (!each(&a, arg) || a.status != CTL_MORE)
				break;
			continue;
		}
		for (unsigned i = 0; i < a.nrec; i++)
			rec_add(res, &a, i);
		if (a.status != CTL_MORE)
			break;
	}
	r = 0;
out:
	close(fd);
	free(b);
	return r;
}

void
ctl_rec_json(FILE *f, const struct ctl_rec *r)
{
	fputc('{', f);
	ctl_rec_json_fields(f, r);
	fputc('}', f);
}

void
ctl_rec_json_fields(FILE *f, const struct ctl_rec *r)
{
	for (unsigned i = 0; i < r->n; i++) {
		if (i > 0)
			fputs(", ", f);
		json_string(f, r->key[i]);
		fputs(": ", f);
		if (r->number[i])
			fputs(r->value[i], f);
		else
			json_string(f, r->value[i]);
	}
}

int
ctl_finish(struct mxctl *m, const struct ctl_result *res, bool json)
{
	bool ok = res->status == CTL_OK;

	if (json) {
		printf("{\"ok\": %s, \"status\": ", ok ? "true" : "false");
		json_string(stdout, ctl_status_name(res->status));
		printf(", \"message\": ");
		json_string(stdout, res->text);
		printf("}\n");
	} else if (ok && res->text[0] != '\0')
		printf("%s\n", res->text);
	if (ok)
		return MX_OK;
	mx_fail(m, "%s", res->text[0] != '\0' ? res->text : ctl_status_name(res->status));
	return MX_FAIL;
}

bool
ctl_take_json(int *argc, char **argv)
{
	bool found = false;
	int o = 0;

	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			found = true;
			continue;
		}
		argv[o++] = argv[i];
	}
	*argc = o;
	return found;
}
