/*
 * lib/ipc_decode_priv.h - the field checks that lib/ipc_decode.c and
 * lib/ipc_decode_send.c share. Not for roles: they call the typed
 * decoders of ipc_decode.h. Each check sets c->why on the first failure
 * and does nothing once it is set, so a decoder reads all its fields and
 * looks at the outcome once (ipc_finish).
 */
#ifndef HMX_IPC_DECODE_PRIV_H
#define HMX_IPC_DECODE_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "ipc.h"
#include "addr.h"

/* An address field must be empty (if allow_empty) or parse as a mailbox. */
int	ipc_check_address(struct ipc_cursor *c, const char *a, bool allow_empty);
/* One field of a free-text kind (lib/ipc_text.h). */
void	ipc_check_kind(struct ipc_cursor *c, const char *s,
	    bool (*is_valid)(const char *, size_t), const char *why);
/* A queue id field. */
int	ipc_check_msgid(struct ipc_cursor *c, const char *id);
/* u16 count then that many recipient addresses, into a malloc'd array. */
void	ipc_take_rcpt_list(struct ipc_cursor *c, char (**rcpt)[ADDR_MAX + 1],
	    unsigned *nrcpt);
/* The payload must end here; else -1 with *why. */
int	ipc_finish(struct ipc_cursor *c, const char **why);
/* A free-text field, cleaned to a valid text line of at most max bytes. */
void	ipc_put_text_line(struct ipc_builder *b, const char *s, size_t max);

#endif
