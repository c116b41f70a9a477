/* The command line after EAL's: --config FILE and the overrides that
 * replace its keys. Kept, so that a reload builds the configuration the
 * same way from the same arguments, with the file read anew. */
#ifndef QS_OPTIONS_H
#define QS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/qs_config.h"
#include "dataplane/qs_dataplane.h"

struct app_opts {
	bool interactive;
	const char *cmdline_file;
};

/* The file first, then the overrides in command-line order, then the
 * checks no single key can make. -1 with err as the operator reads it
 * ("config error: FILE: ..."); -h prints the usage and exits. */
int options_parse(int argc, char **argv, struct qs_config *cfg,
		  struct app_opts *app, char *err, size_t errlen);

/* Reload (CLI `reload`, SIGHUP): the configuration options_parse would
 * build now, made current by qs_dataplane_reload; msg says what changed
 * or why nothing did. Main lcore only. */
int options_reload(struct qs_dataplane *dp, char *msg, size_t msglen);

#endif
