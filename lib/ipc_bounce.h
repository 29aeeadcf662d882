/*
 * lib/ipc_bounce.h - the codec of the smtpd <-> queue bounce-tag messages
 * (MSG_SMTPD_TAG_CHECK, MSG_QUEUE_TAG_CHECKED in lib/ipc_msgs.h).
 *
 * Owns: their payload layouts and validation:
 *	MSG_SMTPD_TAG_CHECK	str address (a tagged recipient, lib/batv.h)
 *	MSG_QUEUE_TAG_CHECKED	u8 result (enum bounce_tag_result)
 * Why the queue answers: it alone holds the key that made the tag
 * (queue/bounce_tag.h); smtpd, which reads the network, only learns
 * whether a tag is good, never the key.
 */
#ifndef HMX_IPC_BOUNCE_H
#define HMX_IPC_BOUNCE_H

#include "ipc.h"

enum bounce_tag_result {
	BOUNCE_TAG_VALID = 1,	/* our key made it, at most BATV_DAYS_VALID ago */
	BOUNCE_TAG_BAD,		/* a hash our key did not make (forged, another key) */
	BOUNCE_TAG_EXPIRED,	/* our hash, but too old (or from the future) */
	BOUNCE_TAG_NO_KEY,	/* we never made a key: we tagged nothing */
	BOUNCE_TAG_RESULT_MAX = BOUNCE_TAG_NO_KEY
};

const char	*bounce_tag_result_name(enum bounce_tag_result);

void	ipc_encode_tag_check(struct ipc_builder *, const char *tagged_address);
/* The address must be a well-formed tag (batv_parse) around a mailbox. */
int	ipc_decode_tag_check(const struct ipc_frame *, char *address, size_t size,
	    const char **why);
void	ipc_encode_tag_checked(struct ipc_builder *, enum bounce_tag_result);
int	ipc_decode_tag_checked(const struct ipc_frame *, enum bounce_tag_result *,
	    const char **why);

#endif
