/*
 * relay/auth.c - see auth.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "auth.h"
#include "log.h"

#define AUTH_FILE_MAX	1024	/* bytes read from one auth= file */

static struct relay_cred	creds[CONFIG_MAX_DESTINATIONS];
static size_t			ncreds;

const struct relay_cred *
relay_auth_find(const char *path)
{
	for (size_t i = 0; i < ncreds; i++)
		if (strcmp(creds[i].path, path) == 0)
			return &creds[i];
	return NULL;
}

int
relay_auth_parse(const char *text, size_t len, struct relay_cred *c,
    const char **why)
{
	size_t i = 0, ustart, ulen, pstart, plen;

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		len--;
	if (memchr(text, '\n', len) != NULL || memchr(text, '\0', len) != NULL) {
		*why = "expected exactly one line 'user password'";
		return -1;
	}
	while (i < len && (text[i] == ' ' || text[i] == '\t'))
		i++;
	ustart = i;
	while (i < len && text[i] != ' ' && text[i] != '\t')
		i++;
	ulen = i - ustart;
	while (i < len && (text[i] == ' ' || text[i] == '\t'))
		i++;
	pstart = i;
	plen = len - pstart;
	if (ulen == 0 || plen == 0) {
		*why = "expected 'user password'";
		return -1;
	}
	if (ulen > AUTH_FIELD_MAX || plen > AUTH_FIELD_MAX) {
		*why = "user or password longer than 255 bytes";
		return -1;
	}
	memcpy(c->user, text + ustart, ulen);
	c->user[ulen] = '\0';
	memcpy(c->password, text + pstart, plen);
	c->password[plen] = '\0';
	return 0;
}

static int
read_small_file(const char *path, char *buf, size_t size, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t n = 0;

	if (fd == -1)
		return -1;
	while (n < size) {
		ssize_t r = read(fd, buf + n, size - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return 0;
}

static void
load_one(const char *path, int at_start)
{
	char text[AUTH_FILE_MAX];
	struct relay_cred c;
	const char *why = NULL;
	size_t len = 0;

	if (relay_auth_find(path) != NULL)
		return;
	memset(&c, 0, sizeof(c));
	if (read_small_file(path, text, sizeof(text), &len) == -1)
		why = strerror(errno);
	else if (len == sizeof(text))
		why = "file too large";
	else
		(void)relay_auth_parse(text, len, &c, &why);
	explicit_bzero(text, sizeof(text));
	if (why != NULL) {
		explicit_bzero(&c, sizeof(c));
		if (at_start)
			fatalx("auth file %s: %s", path, why);
		log_warnx("auth file %s: %s (restart homemx to read new credentials)",
		    path, why);
		return;
	}
	snprintf(c.path, sizeof(c.path), "%s", path);
	creds[ncreds++] = c;
	explicit_bzero(&c, sizeof(c));
}

void
relay_auth_load(const struct config *cfg, int at_start)
{
	for (size_t i = 0; i < cfg->ndestinations; i++) {
		const char *path = cfg->destinations[i].auth_file;
		if (path[0] != '\0' && ncreds < CONFIG_MAX_DESTINATIONS)
			load_one(path, at_start);
	}
}

int
relay_auth_plain(const struct relay_cred *c, char *out, size_t size)
{
	unsigned char raw[2 * AUTH_FIELD_MAX + 2];
	size_t ul = strlen(c->user), pl = strlen(c->password), n = 0;

	raw[n++] = '\0';	/* no authorization identity */
	memcpy(raw + n, c->user, ul);
	n += ul;
	raw[n++] = '\0';
	memcpy(raw + n, c->password, pl);
	n += pl;
	if (size < 4 * ((n + 2) / 3) + 1) {
		explicit_bzero(raw, sizeof(raw));
		return -1;
	}
	EVP_EncodeBlock((unsigned char *)out, raw, (int)n);
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

void
relay_auth_wipe(void)
{
	explicit_bzero(creds, sizeof(creds));
	ncreds = 0;
}
