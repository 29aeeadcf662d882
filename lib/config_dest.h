/*
 * lib/config_dest.h - the 'destination' line of homemx.conf, as
 * lib/config.c hands it on (lib/config_dest.c parses it).
 *
 * Owns: nothing; struct dest_rule and config_destination_for(), which the
 * relay and mxctl use, stay in lib/config.h with the rest of the config.
 * Why a header of its own: only the config parser calls this.
 */
#ifndef HMX_CONFIG_DEST_H
#define HMX_CONFIG_DEST_H

#include <stddef.h>

#include "config.h"

/*
 * One 'destination' line split into nw words (w[0] is "destination"):
 * appends its rule to c->destinations. Returns 0, or -1 with err filled
 * (without file:line, which the caller adds).
 */
int	config_dest_directive(struct config *c, char **w, int nw, char *err,
	    size_t errlen);

#endif
