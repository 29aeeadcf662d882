/*
 * screen/memory_recall.c - the spam memory and the backscatter memory of
 * the screen (screen/memory.h has the record formats, screen/recall.h what
 * the screen does with them).
 *
 * Owns: spam.db and backscatter.db records. Both are written only by the
 * screen role, one record per put, under the same size bound and sweep as
 * the other memories (screen/memory.c). A lifetime of 0 means the memory
 * is off: nothing is written, nothing is recalled, and the sweep removes
 * what an earlier config left.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <stdio.h>
#include <string.h>

#include "memory.h"
#include "memory_db.h"

#define SPAM_REC_MIN		(1 + 8)
#define BACKSCATTER_REC_LEN	(1 + 8 + 4)

void
memory_backscatter_source(const char *client_ip, char *out, size_t outsize)
{
	uint8_t a[16];
	char net[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, client_ip, a) == 1 &&
	    !IN6_IS_ADDR_V4MAPPED((struct in6_addr *)(void *)a)) {
		memset(a + 8, 0, 8);
		inet_ntop(AF_INET6, a, net, sizeof(net));
		snprintf(out, outsize, "net:%s/64", net);
	} else
		snprintf(out, outsize, "ip:%s", client_ip);
}

/* Puts key -> val in id, counting a new record against the bound. */
static int
put_counted(struct screen_memory *m, enum mdb_id id, const char *key, size_t klen,
    const uint8_t *val, size_t vlen)
{
	uint8_t old[MEMORY_VALUE_MAX];
	size_t olen = 0;
	int r = memory_db_read(m, NULL, id, key, klen, old, &olen);

	if (r == -1 || (r == 1 && m->db[id].count >= m->max_entries))
		return -1;
	if (memory_db_write(m, NULL, id, key, klen, val, vlen) == -1)
		return -1;
	if (r == 1)
		m->db[id].count++;
	return 0;
}

int
memory_note_spam(struct screen_memory *m, const struct screen_config *cfg,
    const char *net, const char *sender, const char *rcpt, time_t now,
    const char *ref)
{
	char key[MEMORY_KEY_MAX];
	uint8_t v[MEMORY_VALUE_MAX];
	size_t klen, rlen = strnlen(ref, SCREEN_REF_MAX);

	if (cfg->spam_memory_time == 0 ||
	    (klen = memory_make_key(key, sizeof(key), net, sender, rcpt)) == 0)
		return -1;
	v[0] = MEMORY_V1;
	memory_put_be(v + 1, (uint64_t)now, 8);
	memcpy(v + SPAM_REC_MIN, ref, rlen);
	return put_counted(m, MDB_SPAM, key, klen, v, SPAM_REC_MIN + rlen);
}

int
memory_spam_recall(struct screen_memory *m, const struct screen_config *cfg,
    const char *net, const char *sender, const char *rcpt, time_t now,
    char *ref, size_t refsize)
{
	char key[MEMORY_KEY_MAX];
	uint8_t v[MEMORY_VALUE_MAX];
	size_t klen, n = 0;
	int r;

	if (refsize > 0)
		ref[0] = '\0';
	if (cfg->spam_memory_time == 0 ||
	    (klen = memory_make_key(key, sizeof(key), net, sender, rcpt)) == 0)
		return 0;
	if ((r = memory_db_read(m, NULL, MDB_SPAM, key, klen, v, &n)) != 0)
		return r == -1 ? -1 : 0;
	if (n < SPAM_REC_MIN || n - SPAM_REC_MIN > SCREEN_REF_MAX ||
	    memory_get_be(v + 1, 8) + cfg->spam_memory_time <= (uint64_t)now)
		return 0;	/* unreadable or expired: the sweep takes it */
	if (n - SPAM_REC_MIN < refsize) {
		memcpy(ref, v + SPAM_REC_MIN, n - SPAM_REC_MIN);
		ref[n - SPAM_REC_MIN] = '\0';
	}
	return 1;
}

int
memory_note_backscatter(struct screen_memory *m, const struct screen_config *cfg,
    const char *bsource, time_t now)
{
	uint8_t v[MEMORY_VALUE_MAX];
	size_t klen = strlen(bsource), n = 0;
	uint32_t count = 0;

	if (cfg->backscatter_memory_time == 0 || klen == 0 || klen >= MEMORY_KEY_MAX)
		return -1;
	if (memory_db_read(m, NULL, MDB_BACKSCATTER, bsource, klen, v, &n) == 0 &&
	    n == BACKSCATTER_REC_LEN)
		count = (uint32_t)memory_get_be(v + 9, 4);
	v[0] = MEMORY_V1;
	memory_put_be(v + 1, (uint64_t)now, 8);
	memory_put_be(v + 9, count < UINT32_MAX ? count + 1 : count, 4);
	return put_counted(m, MDB_BACKSCATTER, bsource, klen, v, BACKSCATTER_REC_LEN);
}

int
memory_backscatter_recall(struct screen_memory *m, const struct screen_config *cfg,
    const char *bsource, time_t now)
{
	uint8_t v[MEMORY_VALUE_MAX];
	size_t klen = strlen(bsource), n = 0;
	int r;

	if (cfg->backscatter_memory_time == 0 || klen == 0 || klen >= MEMORY_KEY_MAX)
		return 0;
	if ((r = memory_db_read(m, NULL, MDB_BACKSCATTER, bsource, klen, v, &n)) != 0)
		return r == -1 ? -1 : 0;
	return n == BACKSCATTER_REC_LEN &&
	    memory_get_be(v + 1, 8) + cfg->backscatter_memory_time > (uint64_t)now;
}
