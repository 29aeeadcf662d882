/*
 * queue/family_store.h - the relay's remembered IPv6->IPv4 fallbacks, kept
 * by the queue on disk (see family_store.c).
 */
#ifndef HMX_QUEUE_FAMILY_STORE_H
#define HMX_QUEUE_FAMILY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipc_decode.h"

#define FAMILY_STORE_MAX	1024	/* = relay/family.h FAMILY_MEMORY_MAX */
#define FAMILY_FILE_MAX		(FAMILY_STORE_MAX * 300 + 64)	/* bytes */
#define FAMILY_STORE_DIR	"state"
#define FAMILY_STORE_FILE	"family"

struct event_base;

/*
 * Opens spool_dir/state/ (creating it) and loads the file, dropping what
 * expired and cutting what lies more than max_age seconds ahead. A file
 * that does not parse is set aside as family.corrupt and the memory starts
 * empty: losing it costs one IPv6 attempt per destination, nothing more.
 */
void	family_store_init(struct event_base *, const char *spool_dir, uint64_t now,
	    uint32_t max_age);
/*
 * A pin from the relay (already decoded: a valid lowercase name). until is
 * cut to now + max_age; one in the past is refused (-1). The file is
 * rewritten soon after, at most once per FAMILY_WRITE_INTERVAL.
 */
int	family_store_learn(const struct family_pin *, uint64_t now, uint32_t max_age);
/* Copies the pins still valid at now into out (room for max); returns n. */
size_t	family_store_get(struct family_pin *out, size_t max, uint64_t now);
/* Writes a pending change now (shutdown). */
void	family_store_flush(void);
/* Forgets everything and closes the directory (tests: init again). */
void	family_store_close(void);

/* ---- the file format, pure (the unit test and the fuzzer call these) ---- */

/*
 *	homemx-family 1
 *	ipv4 <name> <until>
 *	...
 *	end
 * Parses text into out (room for max); expired lines are dropped, until is
 * cut to now + max_age, a name twice keeps the later until. Returns the
 * count, or -1 if the text is not a whole, well-formed file.
 */
int	family_store_parse(const char *text, size_t len, uint64_t now, uint32_t max_age,
	    struct family_pin *out, size_t max);
/* Formats pins into buf; returns the length, or 0 if buf is too small. */
size_t	family_store_format(const struct family_pin *, size_t n, char *buf, size_t size);

#endif
