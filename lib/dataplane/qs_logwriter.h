/* The access log's writer: one ring of fixed-size records per worker
 * (http/qs_access_log.h), drained by a control thread (on the main lcore's
 * CPUs, never a worker's) that formats the lines and appends them to the
 * file. Workers never touch the file and never wait for it. `reopen`
 * (CLI, SIGHUP) makes it close and open the path again, for logrotate. */
#ifndef QS_LOGWRITER_H
#define QS_LOGWRITER_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_ring.h>

#include "base/qs_config.h"
#include "base/qs_limits.h"

struct qs_logwriter {
	char path[PATH_MAX];
	enum qs_access_format format;
	int64_t realtime_offset_ns;      /* monotonic record times -> wall */
	struct rte_ring *rings[QS_MAX_WORKERS];
	uint16_t n_rings;
	FILE *f;
	pthread_t thread;
	bool started;
	volatile bool quit;
	volatile bool reopen;            /* set by qs_logwriter_reopen */
	uint64_t lines;                  /* written, since start */
	uint64_t write_errors;
};

/* Creates a ring of ring_size records per worker and opens path (append,
 * created 0640). Returns 0, or -1 with err saying what is wrong
 * ("[log] access_log '/x/y': No such file or directory"). */
int qs_logwriter_init(struct qs_logwriter *lw, const struct qs_config *cfg,
		      uint16_t n_workers, char *err, size_t errlen);
/* Starts the writer thread. */
int qs_logwriter_start(struct qs_logwriter *lw);
/* Asks the writer to reopen the file; async-signal-safe. */
void qs_logwriter_reopen(struct qs_logwriter *lw);
/* Once the workers have stopped: writes what the rings still hold, ends
 * the thread, closes the file and frees the rings. Harmless twice. */
void qs_logwriter_fini(struct qs_logwriter *lw);

#endif
