/*
 * admin/import.h - the `mxctl import` file format and its pure parser.
 *
 * Owns: the grammar of an import file (see admin/README.import):
 *
 *	# a comment line (a '#' first on the line, after optional blanks)
 *	domain NAME [catchall ADDRESS]
 *	user ADDRESS [ARGON2ID-HASH]	(no hash: receives mail, cannot log in)
 *	alias ADDRESS TARGET[,TARGET...]
 *	block ADDRESS			(a subaddress such as kim-leaked@example.org)
 *
 * Words are separated by blanks; CRLF line ends are accepted. Every name
 * is normalized here (lowercase, IDNA A-labels) exactly as the CLI does,
 * and a name defined twice in one file is an error. Why pure (no store, no
 * I/O): mxctl parses the whole file before it opens a transaction, and
 * the fuzzer runs this code with nothing else around it.
 */
#ifndef HMX_ADMIN_IMPORT_H
#define HMX_ADMIN_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

#define IMPORT_LINE_MAX		16384		/* 32 targets of 256 octets fit */
#define IMPORT_FILE_MAX		(16u * 1024 * 1024)
#define IMPORT_RECORDS_MAX	20000		/* one transaction's worth */
#define IMPORT_TARGETS_MAX	32		/* = STORE_ALIAS_TARGETS_MAX */
#define IMPORT_HASH_MAX		127		/* = STORE_HASH_MAX */
#define IMPORT_ERR_MAX		512

enum import_kind {
	IMPORT_DOMAIN = 1,
	IMPORT_USER,
	IMPORT_ALIAS,
	IMPORT_BLOCK,
};

struct import_record {
	enum import_kind	 kind;
	unsigned		 line;
	char			 name[ADDR_MAX + 1];	/* domain or address */
	char			 catchall[ADDR_MAX + 1];	/* domain: "" = none */
	char			 hash[IMPORT_HASH_MAX + 1];	/* user: "" = no login */
	unsigned		 ntargets;			/* alias */
	char			(*targets)[ADDR_MAX + 1];	/* malloc'd */
};

struct import_set {
	struct import_record	*rec;
	size_t			 n;
	size_t			 cap;
};

/*
 * Parses len bytes of text. On success returns 0 and fills out (free it
 * with import_free). On the first bad line returns -1, sets *errline to
 * its number (0 when the file as a whole is wrong) and err to what is
 * wrong with it; out is left empty.
 */
int	import_parse(const char *text, size_t len, struct import_set *out,
	    unsigned *errline, char *err, size_t errlen);
void	import_free(struct import_set *);

/*
 * Parses and normalizes "a@x,b@y" (also used by `mxctl alias add`).
 * Returns the number of targets (1..max), or -1 with err filled.
 */
int	import_parse_targets(const char *list, char (*targets)[ADDR_MAX + 1],
	    unsigned max, char *err, size_t errlen);

/* True if h looks like a crypto_pwhash_str() Argon2id string. */
bool	import_hash_is_valid(const char *h);

#endif
