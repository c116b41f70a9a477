/* The control-plane CLI (testpmd style): interactive prompt and
 * --cmdline-file, run on the main lcore only. */
#ifndef QS_CLI_H
#define QS_CLI_H

#include <stdbool.h>

#include "dataplane/qs_dataplane.h"

/* Runs the commands in path; returns 0, or -1 if it cannot be read. */
int qs_cli_run_file(struct qs_dataplane *dp, const char *path);
/* Interactive prompt on stdin until `quit`, EOF or *stop turns true;
 * tick runs between keystrokes (at least every 100 ms). */
void qs_cli_interact(struct qs_dataplane *dp, volatile bool *stop,
		     void (*tick)(struct qs_dataplane *dp));
/* true once a `quit` command ran */
bool qs_cli_quit_requested(void);

#endif
