#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
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

int
qs_logwriter_init(struct qs_logwriter *lw, const struct qs_config *cfg,
		  uint16_t n_workers, char *err, size_t errlen)
{
	struct timespec ts;

	memset(lw, 0, sizeof(*lw));
	snprintf(lw->path, sizeof(lw->path), "%s", cfg->access_log);
	lw->format = cfg->access_format;
	clock_gettime(CLOCK_REALTIME, &ts);
	lw->realtime_offset_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec -
				 (int64_t)qs_now_ns();
	lw->f = open_log(lw->path, err, errlen);
	if (lw->f == NULL)
		return -1;
	for (uint16_t w = 0; w < n_workers; w++) {
		char name[RTE_RING_NAMESIZE];

		snprintf(name, sizeof(name), "qs_alog_%u", w);
		lw->rings[w] = rte_ring_create_elem(name, QS_ACCESS_RECORD_SIZE,
						    cfg->access_ring, (int)rte_socket_id(),
						    RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (lw->rings[w] == NULL) {
			snprintf(err, errlen, "[log] access_ring %u: no memory for worker "
				 "%u's ring of %u-byte records (%s; give EAL more with -m)",
				 cfg->access_ring, w, QS_ACCESS_RECORD_SIZE,
				 rte_strerror(rte_errno));
			lw->n_rings = w;
			qs_logwriter_fini(lw);
			return -1;
		}
	}
	lw->n_rings = n_workers;
	return 0;
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

/* Every record the rings hold now; returns how many. */
static unsigned int
drain(struct qs_logwriter *lw)
{
	static union {
		struct qs_access_record r;
		uint8_t slot[QS_ACCESS_RECORD_SIZE];
	} recs[WRITER_BATCH];
	char line[LINE_MAX_BYTES];
	unsigned int total = 0, n;

	for (uint16_t w = 0; w < lw->n_rings; w++) {
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

static void *
writer_main(void *arg)
{
	struct qs_logwriter *lw = arg;

	while (!__atomic_load_n(&lw->quit, __ATOMIC_ACQUIRE)) {
		if (__atomic_exchange_n(&lw->reopen, false, __ATOMIC_ACQ_REL))
			reopen_now(lw);
		if (drain(lw) == 0)
			usleep(WRITER_PERIOD_US);
	}
	return NULL;
}

int
qs_logwriter_start(struct qs_logwriter *lw)
{
	int rc = rte_ctrl_thread_create(&lw->thread, "qs-access-log", NULL,
					writer_main, lw);

	if (rc != 0) {
		RTE_LOG(ERR, QS_DP, "access log writer thread: %s\n", strerror(rc));
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
	if (lw->started) {
		__atomic_store_n(&lw->quit, true, __ATOMIC_RELEASE);
		pthread_join(lw->thread, NULL);
		lw->started = false;
	}
	if (lw->f != NULL) {
		drain(lw);
		if (lw->write_errors > 0)
			RTE_LOG(ERR, QS_DP, "access log %s: %" PRIu64 " lines not "
				"written (disk full?)\n", lw->path, lw->write_errors);
		fclose(lw->f);
		lw->f = NULL;
	}
	for (uint16_t w = 0; w < lw->n_rings; w++) {
		rte_ring_free(lw->rings[w]);
		lw->rings[w] = NULL;
	}
	lw->n_rings = 0;
}
