#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_ring_elem.h>

#include "base/qs_clock.h"
#include "base/qs_log.h"
#include "dataplane/qs_logwriter.h"
#include "http/qs_access_log.h"

#define WRITER_PERIOD_US 20000    /* rings are drained 50 times a second */
#define WRITER_BATCH 64
#define LINE_MAX_BYTES 4096       /* qs_access_format's bound */
#define NS_PER_MS 1000000ull
#define QLOG_SWEEP_NS (1000 * NS_PER_MS)  /* stale files looked for */
/* a connection is silent (no packet, so no event) for at most its idle
 * timeout, or its handshake timeout, before it ends with a FIN record;
 * twice the longer of the two, the graceful stop and a minute more: the
 * FIN or TRUNCATED record of a file that old was lost */
#define QLOG_STALE_SLACK_NS (60000 * NS_PER_MS)
#define QLOG_NAME_MAX (2 * QS_QLOG_CID_MAX + sizeof(".sqlog.truncated"))

/* ---- the access log ---- */

/* One ring of size records of elem bytes per worker, rings[0..n-1];
 * -1 with err naming key when memory runs out (the caller's fini frees
 * what was made). */
static int
rings_create(struct rte_ring **rings, uint16_t n, const char *prefix,
	     unsigned int elem, uint32_t size, const char *key, char *err,
	     size_t errlen)
{
	for (uint16_t w = 0; w < n; w++) {
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "%s_%u", prefix, w);
		rings[w] = rte_ring_create_elem(name, elem, size, (int)rte_socket_id(),
						RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (rings[w] == NULL) {
			snprintf(err, errlen, "%s %u: no memory for worker %u's ring "
				 "of %u-byte records (%s; give EAL more with -m)",
				 key, size, w, elem, rte_strerror(rte_errno));
			return -1;
		}
	}
	return 0;
}

static FILE *
open_log(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	FILE *f;

	if (fd < 0) {
		snprintf(err, errlen, "[log] access_log '%s': %s", path, strerror(errno));
		return NULL;
	}
	f = fdopen(fd, "a");
	if (f == NULL) {
		snprintf(err, errlen, "[log] access_log '%s': %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

static int
access_init(struct qs_logwriter *lw, const struct qs_config *cfg, char *err,
	    size_t errlen)
{
	struct timespec ts;

	lw->access_on = true;
	snprintf(lw->path, sizeof(lw->path), "%s", cfg->access_log);
	lw->format = cfg->access_format;
	clock_gettime(CLOCK_REALTIME, &ts);
	lw->realtime_offset_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec -
				 (int64_t)qs_now_ns();
	lw->f = open_log(lw->path, err, errlen);
	if (lw->f == NULL)
		return -1;
	return rings_create(lw->rings, lw->n_workers, "qs_alog", QS_ACCESS_RECORD_SIZE,
			    cfg->access_ring, "[log] access_ring", err, errlen);
}

static void
reopen_now(struct qs_logwriter *lw)
{
	char err[PATH_MAX + 64];
	FILE *f = open_log(lw->path, err, sizeof(err));

	if (f == NULL) {
		/* keep writing to the old one: nothing is lost */
		RTE_LOG(ERR, QS_DP, "reopen: %s; still writing the open file\n", err);
		return;
	}
	fclose(lw->f);
	lw->f = f;
	RTE_LOG(INFO, QS_DP, "access log %s reopened\n", lw->path);
}

/* Every access record the rings hold now; returns how many. */
static unsigned int
drain_access(struct qs_logwriter *lw)
{
	static union {
		struct qs_access_record r;
		uint8_t slot[QS_ACCESS_RECORD_SIZE];
	} recs[WRITER_BATCH];
	char line[LINE_MAX_BYTES];
	unsigned int total = 0, n;

	for (uint16_t w = 0; w < lw->n_workers; w++) {
		do {
			n = rte_ring_sc_dequeue_burst_elem(lw->rings[w], recs,
							   QS_ACCESS_RECORD_SIZE,
							   WRITER_BATCH, NULL);
			for (unsigned int i = 0; i < n; i++) {
				size_t len = qs_access_format(&recs[i].r, lw->format,
							      lw->realtime_offset_ns,
							      line, sizeof(line));

				if (fwrite(line, 1, len, lw->f) != len)
					lw->write_errors++;
				else
					lw->lines++;
			}
			total += n;
		} while (n == WRITER_BATCH);
	}
	if (total > 0 && fflush(lw->f) != 0)
		lw->write_errors++;
	return total;
}

static void
access_fini(struct qs_logwriter *lw)
{
	if (lw->f != NULL) {
		drain_access(lw);
		if (lw->write_errors > 0)
			RTE_LOG(ERR, QS_DP, "access log %s: %" PRIu64 " lines not "
				"written (disk full?)\n", lw->path, lw->write_errors);
		fclose(lw->f);
		lw->f = NULL;
	}
	for (uint16_t w = 0; w < lw->n_workers; w++) {
		rte_ring_free(lw->rings[w]);
		lw->rings[w] = NULL;
	}
	lw->access_on = false;
}

/* ---- qlog ---- */

static void
qlog_name(char *name, size_t size, const uint8_t *cid, uint8_t cid_len,
	  bool truncated)
{
	size_t len = 0;

	for (uint8_t i = 0; i < cid_len && len + 3 <= size; i++)
		len += (size_t)snprintf(name + len, size - len, "%02x", cid[i]);
	snprintf(name + len, size - len, truncated ? ".sqlog.truncated" : ".sqlog");
}

/* Longer than any connection of cfg goes without a packet. */
static uint64_t
qlog_stale_ns(const struct qs_config *cfg)
{
	uint64_t longest = RTE_MAX(cfg->idle_timeout_ms, cfg->handshake_timeout_ms);

	return (2 * longest + cfg->shutdown_timeout_ms) * NS_PER_MS +
	       QLOG_STALE_SLACK_NS;
}

void
qs_logwriter_reconfigure(struct qs_logwriter *lw, const struct qs_config *cfg)
{
	uint64_t stale = qlog_stale_ns(cfg);

	/* connections that started before keep their (maybe longer) timeouts */
	if (lw->qlog_on &&
	    stale > __atomic_load_n(&lw->qlog.stale_ns, __ATOMIC_RELAXED))
		__atomic_store_n(&lw->qlog.stale_ns, stale, __ATOMIC_RELAXED);
}

static int
qlog_init(struct qs_logwriter *lw, const struct qs_config *cfg, char *err,
	  size_t errlen)
{
	struct qs_qlog_writer *q = &lw->qlog;

	lw->qlog_on = true;
	snprintf(q->dir, sizeof(q->dir), "%s", cfg->qlog_dir);
	q->dirfd = open(q->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q->dirfd < 0) {
		snprintf(err, errlen, "[debug] qlog_dir '%s': %s", q->dir,
			 strerror(errno));
		return -1;
	}
	q->max_open = QS_QLOG_MAX_OPEN;
	q->stale_ns = qlog_stale_ns(cfg);
	q->files = calloc(q->max_open, sizeof(*q->files));
	if (q->files == NULL ||
	    qs_cidtab_init(&q->open, "qs_qlog_files", q->max_open,
			   (int)rte_socket_id()) != 0) {
		snprintf(err, errlen, "[debug] qlog_dir: no memory for the table "
			 "of %u open files", q->max_open);
		return -1;
	}
	return rings_create(q->rings, lw->n_workers, "qs_qlog", QS_QLOG_RECORD_SIZE,
			    cfg->qlog_ring, "[debug] qlog_ring", err, errlen);
}

/* A file for the connection whose first record r is, or NULL (counted). */
static struct qs_qlog_file *
qlog_open(struct qs_qlog_writer *q, const struct qs_qlog_record *r)
{
	char name[QLOG_NAME_MAX];
	struct qs_qlog_file *file = NULL;
	int fd;

	if (q->n_open >= q->max_open) {
		if (q->skipped++ == 0)
			RTE_LOG(WARNING, QS_DP, "qlog: %u files open, the most at once: "
				"connections that start now get none (counted; a "
				"larger [debug] qlog_sample makes fewer)\n", q->n_open);
		return NULL;
	}
	for (uint32_t i = 0; i < q->max_open && file == NULL; i++)
		if (q->files[i].f == NULL)
			file = &q->files[i];
	if (file == NULL)
		return NULL;         /* cannot be: n_open counts the slots used */
	qlog_name(name, sizeof(name), r->cid, r->cid_len, false);
	fd = openat(q->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
		    O_NOFOLLOW, 0640);
	if (fd >= 0 && (file->f = fdopen(fd, "w")) == NULL)
		close(fd);
	if (file->f == NULL) {
		if (q->open_errors++ == 0)
			RTE_LOG(ERR, QS_DP, "qlog %s/%s: %s (more are counted)\n",
				q->dir, name, strerror(errno));
		return NULL;
	}
	if (qs_cidtab_add(&q->open, r->cid, r->cid_len, file) != 0) {
		q->open_errors++;    /* cannot be: the table holds max_open */
		fclose(file->f);
		file->f = NULL;
		return NULL;
	}
	file->next_seq = 0;
	file->cut = false;
	file->dirty = false;
	file->cid_len = r->cid_len;
	memcpy(file->cid, r->cid, sizeof(file->cid));
	q->n_open++;
	return file;
}

/* Closes file: complete, or renamed .sqlog.truncated. */
static void
qlog_close(struct qs_qlog_writer *q, struct qs_qlog_file *file, const char *why)
{
	char name[QLOG_NAME_MAX], cut_name[QLOG_NAME_MAX];
	bool truncated = file->cut || why != NULL;

	if (fclose(file->f) != 0) {
		q->write_errors++;
		truncated = true;
		why = why != NULL ? why : strerror(errno);
	}
	file->f = NULL;
	qs_cidtab_del(&q->open, file->cid, file->cid_len);
	q->n_open--;
	if (!truncated) {
		q->files_complete++;
		return;
	}
	qlog_name(name, sizeof(name), file->cid, file->cid_len, false);
	qlog_name(cut_name, sizeof(cut_name), file->cid, file->cid_len, true);
	if (renameat(q->dirfd, name, q->dirfd, cut_name) != 0)
		RTE_LOG(ERR, QS_DP, "qlog %s/%s: cannot rename it %s: %s\n", q->dir,
			name, cut_name, strerror(errno));
	if (q->files_truncated++ == 0)
		RTE_LOG(WARNING, QS_DP, "qlog %s/%s: truncated (%s); more are "
			"counted (qlog_dropped, qlog_truncated)\n", q->dir, cut_name,
			why != NULL ? why : "a record was lost");
}

static void
qlog_put(struct qs_qlog_writer *q, const struct qs_qlog_record *r, uint64_t now)
{
	struct qs_qlog_file *file = qs_cidtab_find(&q->open, r->cid, r->cid_len);

	if (file == NULL) {
		/* a later record of a connection that got no file */
		if (r->seq != 0 || (r->flags & QS_QLOG_TRUNCATED)) {
			q->records_ignored++;
			return;
		}
		file = qlog_open(q, r);
		if (file == NULL)
			return;
	}
	file->last_ns = now;
	if (r->seq != file->next_seq)
		file->cut = true;     /* never from a worker: records go in order */
	file->next_seq = r->seq + 1;
	if (!file->cut && r->len > 0) {
		size_t len = RTE_MIN(r->len, (uint16_t)QS_QLOG_DATA_MAX);

		if (fwrite(r->data, 1, len, file->f) != len) {
			q->write_errors++;
			file->cut = true;
		}
		file->dirty = true;
	}
	if (r->flags & QS_QLOG_TRUNCATED)
		qlog_close(q, file, "a record was lost: the worker's ring was full");
	else if (r->flags & QS_QLOG_FIN)
		qlog_close(q, file, file->cut ? "a record was lost or not written"
					      : NULL);
}

/* Closes, as truncated, files whose FIN never came (it was lost). */
static void
qlog_sweep(struct qs_qlog_writer *q, uint64_t now)
{
	for (uint32_t i = 0; i < q->max_open && q->n_open > 0; i++) {
		struct qs_qlog_file *file = &q->files[i];

		if (file->f != NULL && now - file->last_ns >
					       __atomic_load_n(&q->stale_ns,
							       __ATOMIC_RELAXED))
			qlog_close(q, file, "no record for longer than a "
				   "connection lives silent: its end was lost");
	}
}

/* Every qlog record the rings hold now; returns how many. */
static unsigned int
drain_qlog(struct qs_logwriter *lw)
{
	static struct qs_qlog_record recs[WRITER_BATCH];
	struct qs_qlog_writer *q = &lw->qlog;
	uint64_t now = qs_now_ns();
	unsigned int total = 0, n;

	for (uint16_t w = 0; w < lw->n_workers; w++) {
		do {
			n = rte_ring_sc_dequeue_burst_elem(q->rings[w], recs,
							   sizeof(recs[0]),
							   WRITER_BATCH, NULL);
			for (unsigned int i = 0; i < n; i++)
				qlog_put(q, &recs[i], now);
			total += n;
		} while (n == WRITER_BATCH);
	}
	/* what came so far is in the files (tail -f works) */
	for (uint32_t i = 0; total > 0 && i < q->max_open; i++) {
		struct qs_qlog_file *file = &q->files[i];

		if (file->f != NULL && file->dirty) {
			file->dirty = false;
			if (fflush(file->f) != 0) {
				q->write_errors++;
				file->cut = true;
			}
		}
	}
	if (now >= q->next_sweep_ns) {
		q->next_sweep_ns = now + QLOG_SWEEP_NS;
		qlog_sweep(q, now);
	}
	return total;
}

static void
qlog_fini(struct qs_logwriter *lw)
{
	struct qs_qlog_writer *q = &lw->qlog;

	if (q->files != NULL) {
		drain_qlog(lw);
		for (uint32_t i = 0; i < q->max_open; i++)
			if (q->files[i].f != NULL)
				qlog_close(q, &q->files[i], "still open at shutdown");
		RTE_LOG(INFO, QS_DP, "qlog %s: %" PRIu64 " files complete, %" PRIu64
			" truncated, %" PRIu64 " connections without a file (%"
			PRIu64 " too many open, %" PRIu64 " not opened), %" PRIu64
			" write errors\n", q->dir, q->files_complete,
			q->files_truncated, q->skipped + q->open_errors, q->skipped,
			q->open_errors, q->write_errors);
		free(q->files);
		q->files = NULL;
	}
	if (q->open.hash != NULL)
		qs_cidtab_fini(&q->open);
	for (uint16_t w = 0; w < lw->n_workers; w++) {
		rte_ring_free(q->rings[w]);
		q->rings[w] = NULL;
	}
	if (q->dirfd >= 0)
		close(q->dirfd);
	q->dirfd = -1;
	lw->qlog_on = false;
}

/* ---- the thread ---- */

int
qs_logwriter_init(struct qs_logwriter *lw, const struct qs_config *cfg,
		  uint16_t n_workers, char *err, size_t errlen)
{
	memset(lw, 0, sizeof(*lw));
	lw->qlog.dirfd = -1;
	lw->n_workers = n_workers;
	lw->initialised = true;
	if ((qs_config_access_log_on(cfg) && access_init(lw, cfg, err, errlen) != 0) ||
	    (qs_config_qlog_on(cfg) && qlog_init(lw, cfg, err, errlen) != 0)) {
		qs_logwriter_fini(lw);
		return -1;
	}
	return 0;
}

/* What the rings hold now, of both kinds; returns how many records. */
static unsigned int
drain(struct qs_logwriter *lw)
{
	unsigned int n = 0;

	if (lw->access_on)
		n += drain_access(lw);
	if (lw->qlog_on)
		n += drain_qlog(lw);
	return n;
}

static void *
writer_main(void *arg)
{
	struct qs_logwriter *lw = arg;

	while (!__atomic_load_n(&lw->quit, __ATOMIC_ACQUIRE)) {
		if (__atomic_exchange_n(&lw->reopen, false, __ATOMIC_ACQ_REL) &&
		    lw->access_on)
			reopen_now(lw);
		if (drain(lw) == 0)
			usleep(WRITER_PERIOD_US);
	}
	return NULL;
}

int
qs_logwriter_start(struct qs_logwriter *lw)
{
	int rc = rte_ctrl_thread_create(&lw->thread, "qs-log-writer", NULL,
					writer_main, lw);

	if (rc != 0) {
		RTE_LOG(ERR, QS_DP, "log writer thread: %s\n", strerror(rc));
		return -1;
	}
	lw->started = true;
	return 0;
}

void
qs_logwriter_reopen(struct qs_logwriter *lw)
{
	__atomic_store_n(&lw->reopen, true, __ATOMIC_RELEASE);
}

void
qs_logwriter_fini(struct qs_logwriter *lw)
{
	if (!lw->initialised)
		return;
	if (lw->started) {
		__atomic_store_n(&lw->quit, true, __ATOMIC_RELEASE);
		pthread_join(lw->thread, NULL);
		lw->started = false;
	}
	access_fini(lw);
	qlog_fini(lw);
	lw->initialised = false;
}
