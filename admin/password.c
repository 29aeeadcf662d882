/*
 * admin/password.c - reading and hashing new passwords (see password.h).
 *
 * Owns: the terminal while echo is off (restored on every path, Ctrl-C
 * included: mxctl catches it, so read() returns EINTR here) and the
 * hashing parameters: libsodium Argon2id, crypto_pwhash_str with the
 * INTERACTIVE limits (about 75 ms and 64 MiB per verify on the target
 * machine, doc/libraries.md section 6).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "password.h"

/* Reads one line from fd without stdio buffering; -1 on error or overlong. */
static int
read_line(int fd, char *buf, size_t size, bool *eof, char *err, size_t errlen)
{
	size_t n = 0;
	char c;

	*eof = false;
	for (;;) {
		ssize_t r = read(fd, &c, 1);
		if (r == -1 && errno == EINTR) {
			snprintf(err, errlen, "interrupted");
			sodium_memzero(buf, size);
			return -1;
		}
		if (r == -1) {
			snprintf(err, errlen, "cannot read the password: %s", strerror(errno));
			return -1;
		}
		if (r == 0) {
			*eof = n == 0;
			break;
		}
		if (c == '\n')
			break;
		if (n + 1 >= size) {
			snprintf(err, errlen, "password longer than %d bytes", PASSWORD_MAX);
			sodium_memzero(buf, size);
			return -1;
		}
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return 0;
}

static int
prompt_once(const char *prompt, char *buf, size_t size, char *err, size_t errlen)
{
	struct termios old, quiet;
	bool eof;
	int r;

	if (tcgetattr(STDIN_FILENO, &old) == -1) {
		snprintf(err, errlen, "cannot read the terminal: %s", strerror(errno));
		return -1;
	}
	quiet = old;
	quiet.c_lflag &= (tcflag_t)~(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	/* Echo goes off before the prompt appears, and without TCSAFLUSH: a
	 * fast typist (or a script) may answer as soon as the prompt shows,
	 * and flushing would throw that answer away. */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == -1) {
		snprintf(err, errlen, "cannot turn echo off: %s", strerror(errno));
		return -1;
	}
	fputs(prompt, stderr);
	fflush(stderr);
	r = read_line(STDIN_FILENO, buf, size, &eof, err, errlen);
	(void)tcsetattr(STDIN_FILENO, TCSANOW, &old);
	fputc('\n', stderr);
	return r;
}

static int
password_prompt(char *buf, size_t size, char *err, size_t errlen)
{
	char again[PASSWORD_MAX + 1];
	int r = -1;

	if (prompt_once("New password: ", buf, size, err, errlen) == -1 ||
	    prompt_once("Repeat password: ", again, sizeof(again), err, errlen) == -1)
		goto done;
	if (strlen(buf) != strlen(again) ||
	    sodium_memcmp(buf, again, strlen(buf)) != 0) {
		snprintf(err, errlen, "the two passwords differ");
		goto done;
	}
	r = 0;
done:
	sodium_memzero(again, sizeof(again));
	if (r == -1)
		sodium_memzero(buf, size);
	return r;
}

int
password_read(char *buf, size_t size, char *err, size_t errlen)
{
	bool eof;

	if (isatty(STDIN_FILENO)) {
		if (password_prompt(buf, size, err, errlen) == -1)
			return -1;
	} else if (read_line(STDIN_FILENO, buf, size, &eof, err, errlen) == -1)
		return -1;
	if (buf[0] == '\0') {
		snprintf(err, errlen, "empty password (use --no-password for an "
		    "address that receives mail but cannot log in)");
		return -1;
	}
	return 0;
}

int
password_hash(char *password, char *hash, size_t hashsize, char *err,
    size_t errlen)
{
	int r = 0;

	if (hashsize < crypto_pwhash_STRBYTES) {
		snprintf(err, errlen, "internal error: hash buffer too small");
		r = -1;
	} else if (crypto_pwhash_str(hash, password, strlen(password),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
		snprintf(err, errlen, "cannot hash the password (out of memory?)");
		r = -1;
	}
	sodium_memzero(password, strlen(password));
	return r;
}
