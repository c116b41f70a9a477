/* The log writer: one control thread (on the main lcore's CPUs, never a
 * worker's) that drains two kinds of per-worker rings of fixed-size
 * records and writes files, so that workers never touch a file and never
 * wait for one:
 * - the access log (http/qs_access_log.h): formats the lines and appends
 *   them to one file; `reopen` (CLI, SIGHUP) makes it close and open the
 *   path again, for logrotate;
 * - qlog (quic/qs_qlog.h): one file per sampled connection,
 *   <qlog_dir>/<first server CID hex>.sqlog, opened at the connection's
 *   first record and closed at its FIN; renamed .sqlog.truncated when a
 *   record of it was lost (see qs_qlog.h), it could not be written, or it
 *   is still open at shutdown or silent for longer than any connection
 *   lives without a packet. At most max_open files are open at once; a
 *   connection that starts beyond that gets none (counted in skipped). */
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
#include "quic/qs_cidtab.h"
#include "quic/qs_qlog.h"

#define QS_QLOG_MAX_OPEN 256      /* qlog files open at once */

/* One open qlog file. */
struct qs_qlog_file {
	FILE *f;                         /* NULL: slot free */
	uint32_t next_seq;               /* the record expected next */
	bool cut;                        /* truncated: nothing more goes in */
	bool dirty;                      /* written since the last flush */
	uint64_t last_ns;                /* monotonic: its last record */
	uint8_t cid_len;
	uint8_t cid[QS_QLOG_CID_MAX];
};

/* The qlog side of the writer. */
struct qs_qlog_writer {
	char dir[PATH_MAX];
	int dirfd;                       /* files are made relative to it */
	struct rte_ring *rings[QS_MAX_WORKERS];
	struct qs_cidtab open;           /* first server CID -> file */
	struct qs_qlog_file *files;      /* max_open slots */
	uint32_t max_open;               /* QS_QLOG_MAX_OPEN (tests: fewer) */
	uint32_t n_open;
	uint64_t stale_ns;               /* an open file with no record for
					  * this long is closed as truncated */
	uint64_t next_sweep_ns;
	/* since start, written by the writer thread */
	uint64_t files_complete;         /* closed at FIN */
	uint64_t files_truncated;        /* renamed .sqlog.truncated */
	uint64_t skipped;                /* connections without a file:
					  * max_open were open */
	uint64_t open_errors;            /* ... or it could not be made */
	uint64_t records_ignored;        /* of connections without a file */
	uint64_t write_errors;
};

struct qs_logwriter {
	bool access_on;                  /* [log] access_log is a path */
	bool qlog_on;                    /* [debug] qlog_dir is a directory */
	uint16_t n_workers;
	/* the access log */
	char path[PATH_MAX];
	enum qs_access_format format;
	int64_t realtime_offset_ns;      /* monotonic record times -> wall */
	struct rte_ring *rings[QS_MAX_WORKERS];
	FILE *f;
	uint64_t lines;                  /* written, since start */
	uint64_t write_errors;
	/* qlog */
	struct qs_qlog_writer qlog;
	/* the thread */
	pthread_t thread;
	bool started;
	bool initialised;
	volatile bool quit;
	volatile bool reopen;            /* set by qs_logwriter_reopen */
};

/* For what cfg turns on (the access log, qlog, or both): a ring per worker
 * of each (access_ring, qlog_ring records); opens the access log (append,
 * created 0640) and the qlog directory. Returns 0, or -1 with err saying
 * what is wrong ("[log] access_log '/x/y': No such file or directory"). */
int qs_logwriter_init(struct qs_logwriter *lw, const struct qs_config *cfg,
		      uint16_t n_workers, char *err, size_t errlen);
/* Starts the writer thread. */
int qs_logwriter_start(struct qs_logwriter *lw);
/* After a reload to cfg: a qlog file goes stale only after the longest
 * silence a connection of cfg or of an earlier configuration may keep. */
void qs_logwriter_reconfigure(struct qs_logwriter *lw,
			      const struct qs_config *cfg);
/* Asks the writer to reopen the access log; async-signal-safe. */
void qs_logwriter_reopen(struct qs_logwriter *lw);
/* Once nothing puts records on the rings any more: writes what they still
 * hold, ends the thread, closes the files (qlog files still open as
 * truncated) and frees the rings. Harmless twice. */
void qs_logwriter_fini(struct qs_logwriter *lw);

#endif
