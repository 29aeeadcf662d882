/*
 * queue/bounce_tag.c - the BATV key, tagging the senders we relay and
 * checking the tags smtpd asks about (queue/bounce_tag.h has the reasons).
 *
 * Owns: spool_dir/state/bounce_key and the key in this process's memory.
 * The file is two lines, "homemx-bounce-key 1" and "K HEX64", written like
 * every state file of the queue (util_replace_file_at, lib/util.h):
 * bounce_key.tmp (O_EXCL, 0600), fsync, rename, fsync(state/). A crash
 * leaves no key (the next start makes one) or the whole key. The key is
 * read once at start; nobody else writes it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sodium.h>

#include "bounce_tag.h"
#include "family_store.h"	/* FAMILY_STORE_DIR: the queue's state/ */
#include "log.h"
#include "util.h"

#define KEY_HEADER	"homemx-bounce-key 1\n"
#define KEY_TEXT_MAX	(sizeof(KEY_HEADER) - 1 + 2 + 2 * BOUNCE_KEY_BYTES + 1)

static uint8_t			 key[BOUNCE_KEY_BYTES];
static unsigned			 key_no;
static bool			 have_key;
static int			 state_fd = -1;
static const struct config	*cfg;

/* ---- the maker and the checker (pure) ------------------------------------ */

void
bounce_tag_hash(const uint8_t k[BOUNCE_KEY_BYTES], const struct batv_tag *t,
    uint8_t sig[BATV_SIG_BYTES])
{
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	char text[BATV_SIGNED_MAX + 1];
	size_t n = batv_signed_text(t, text, sizeof(text));

	crypto_auth_hmacsha256(mac, (const unsigned char *)text, n, k);
	memcpy(sig, mac, BATV_SIG_BYTES);
	sodium_memzero(mac, sizeof(mac));
}

int
bounce_tag_make(const uint8_t k[BOUNCE_KEY_BYTES], unsigned kno,
    const char *sender, time_t now, char *out, size_t outsize)
{
	struct batv_tag t;

	memset(&t, 0, sizeof(t));
	if (kno > 9 || snprintf(t.mailbox, sizeof(t.mailbox), "%s", sender) >=
	    (int)sizeof(t.mailbox))
		return -1;
	t.key = kno;
	t.day = batv_expiry_day(now);
	bounce_tag_hash(k, &t, t.sig);
	return batv_format(&t, out, outsize);
}

enum bounce_tag_result
bounce_tag_verify(const uint8_t k[BOUNCE_KEY_BYTES], unsigned kno,
    const char *tagged, time_t now)
{
	struct batv_tag t;
	uint8_t want[BATV_SIG_BYTES];

	if (!batv_parse(tagged, &t) || t.key != kno)
		return BOUNCE_TAG_BAD;
	bounce_tag_hash(k, &t, want);
	if (sodium_memcmp(want, t.sig, sizeof(want)) != 0)
		return BOUNCE_TAG_BAD;
	return batv_day_is_fresh(t.day, now) ? BOUNCE_TAG_VALID : BOUNCE_TAG_EXPIRED;
}

/* ---- the key file ------------------------------------------------------------- */

static int
hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* "homemx-bounce-key 1\nK HEX64\n" into key and key_no; -1 if it is not. */
static int
key_parse(const char *text, size_t len)
{
	size_t hl = sizeof(KEY_HEADER) - 1;
	const char *p = text + hl;

	if (len != KEY_TEXT_MAX || memcmp(text, KEY_HEADER, hl) != 0 ||
	    p[0] < '0' || p[0] > '9' || p[1] != ' ' || text[len - 1] != '\n')
		return -1;
	for (size_t i = 0; i < BOUNCE_KEY_BYTES; i++) {
		int hi = hex_nibble(p[2 + 2 * i]), lo = hex_nibble(p[3 + 2 * i]);
		if (hi < 0 || lo < 0)
			return -1;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	key_no = (unsigned)(p[0] - '0');
	return 0;
}

/* Fills the key from the file: 1 loaded, 0 there is none, -1 (errno or
 * EINVAL) it is there but does not read. */
static int
key_load(void)
{
	char text[KEY_TEXT_MAX + 1];
	ssize_t n;
	int fd = openat(state_fd, BOUNCE_KEY_FILE, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd == -1)
		return errno == ENOENT ? 0 : -1;
	do
		n = read(fd, text, sizeof(text));
	while (n == -1 && errno == EINTR);
	close(fd);
	if (n == -1)
		return -1;
	if (key_parse(text, (size_t)n) == -1) {
		sodium_memzero(text, sizeof(text));
		errno = EINVAL;
		return -1;
	}
	sodium_memzero(text, sizeof(text));
	have_key = true;
	return 1;
}

/* A new random key, on disk before it tags anything. */
static void
key_create(void)
{
	char text[KEY_TEXT_MAX + 1];
	int o;

	randombytes_buf(key, sizeof(key));
	key_no = BOUNCE_KEY_NUMBER;
	o = snprintf(text, sizeof(text), "%s%u ", KEY_HEADER, key_no);
	for (size_t i = 0; i < BOUNCE_KEY_BYTES; i++)
		o += snprintf(text + o, sizeof(text) - (size_t)o, "%02x", key[i]);
	o += snprintf(text + o, sizeof(text) - (size_t)o, "\n");
	if (util_replace_file_at(state_fd, BOUNCE_KEY_FILE, text, (size_t)o, 0600) == -1) {
		int err = errno;
		sodium_memzero(text, sizeof(text));
		sodium_memzero(key, sizeof(key));
		log_event("bounce_tag_error", "op=create file=state/%s errno=\"%s\" "
		    "action=untagged", BOUNCE_KEY_FILE, strerror(err));
		return;
	}
	sodium_memzero(text, sizeof(text));
	have_key = true;
	log_event("bounce_key_created", "file=state/%s key=%u", BOUNCE_KEY_FILE, key_no);
}

static void
key_ensure(void)
{
	if (!have_key && cfg->bounce_tags)
		key_create();
}

void
bounce_tag_init(const struct config *c)
{
	char path[CONFIG_PATH_MAX + sizeof(FAMILY_STORE_DIR) + 1];
	int r;

	cfg = c;
	if (sodium_init() < 0)
		fatalx("bounce_tag: sodium_init");
	if (snprintf(path, sizeof(path), "%s/%s", c->spool_dir, FAMILY_STORE_DIR) >=
	    (int)sizeof(path))
		fatalx("bounce_tag: spool_dir too long");
	if (mkdir_p(path, 0700) == -1)
		fatal("bounce_tag: mkdir %s", path);
	if ((state_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("bounce_tag: open %s", path);
	if ((r = key_load()) == -1)
		fatal("bounce_tag: %s/%s does not read (delete it to make a new key: "
		    "bounces of mail tagged in the last %d days then count as backscatter)",
		    path, BOUNCE_KEY_FILE, BATV_DAYS_VALID);
	key_ensure();
	log_event("bounce_tags", "state=%s key=%s", c->bounce_tags ? "on" : "off",
	    have_key ? "yes" : "no");
}

void
bounce_tag_reload(const struct config *c)
{
	cfg = c;
	if (state_fd != -1)
		key_ensure();
}

/* ---- the queue's uses ---------------------------------------------------------- */

static bool
sender_is_ours(const char *sender)
{
	const char *at = strrchr(sender, '@');
	char domain[ADDR_DOMAIN_MAX + 1];

	if (at == NULL || snprintf(domain, sizeof(domain), "%s", at + 1) >= (int)sizeof(domain))
		return false;
	str_lower(domain);
	return config_has_domain(cfg, domain);
}

bool
bounce_tag_sender(const struct envelope *e, time_t now, char *out, size_t outsize)
{
	struct batv_tag already;

	if (cfg != NULL && cfg->bounce_tags && have_key && e->source == SOURCE_SUBMISSION &&
	    e->sender[0] != '\0' && !batv_parse(e->sender, &already) &&
	    sender_is_ours(e->sender) &&
	    bounce_tag_make(key, key_no, e->sender, now, out, outsize) == 0)
		return true;
	snprintf(out, outsize, "%s", e->sender);
	return false;
}

enum bounce_tag_result
bounce_tag_check(const char *tagged, time_t now)
{
	if (!have_key)
		return BOUNCE_TAG_NO_KEY;
	return bounce_tag_verify(key, key_no, tagged, now);
}

void
bounce_tag_close(void)
{
	sodium_memzero(key, sizeof(key));
	have_key = false;
	key_no = 0;
	if (state_fd != -1)
		close(state_fd);
	state_fd = -1;
	cfg = NULL;
}
