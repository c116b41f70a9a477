/* qlog records (lib/quic/qs_qlog.c) and their writer
 * (lib/dataplane/qs_logwriter.c):
 * - sampling: k connections give ceil(k / N) qlogs, from the first;
 * - a chunk splits into 1 KiB records that give its bytes back, FIN on the
 *   last only;
 * - on a real ring: a chunk goes whole or not at all; the first that does
 *   not fit cuts the connection (qlog_dropped, qlog_truncated), which then
 *   sends nothing but one TRUNCATED record, again at each later chunk until
 *   it fits; a chunk with data leaves the reserve free for those;
 * - the writer: one file per connection named by its first server CID,
 *   exactly the chunks' bytes when complete; renamed .sqlog.truncated for a
 *   TRUNCATED record, a sequence gap, or no FIN by shutdown; no file for a
 *   connection whose first record was lost, or beyond max_open (counted);
 *   its thread closes a file at FIN without waiting for shutdown;
 * - qlog_live: an ARMED connection sends nothing and counts nothing until
 *   started; then its header, byte for byte what ngtcp2 writes for a
 *   connection with the same original DCID, and its events. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ngtcp2/ngtcp2.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane/qs_logwriter.h"
#include "quic/qs_qlog.h"
#include "quic/qs_quic_glue.h"
#include "qs_test.h"
#include "qs_test_eal.h"

static char tmpdir[64];

static void
fill(uint8_t *buf, size_t len, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed + i * 7);
}

static void
test_sample(void)
{
	static const uint32_t samples[] = {1, 2, 3, 7};

	for (size_t s = 0; s < RTE_DIM(samples); s++) {
		for (uint32_t k = 0; k <= 20; k++) {
			uint32_t counter = 0, yes = 0;
			bool first = false;

			for (uint32_t i = 0; i < k; i++) {
				bool y = qs_qlog_sample(&counter, samples[s]);

				yes += y;
				if (i == 0)
					first = y;
			}
			TEST_CONTEXT("sample %u, %u connections", samples[s], k);
			CHECK_EQ(yes, (k + samples[s] - 1) / samples[s]);
			if (k > 0)
				CHECK(first);
		}
	}
	TEST_CONTEXT_CLEAR();
	/* 0: none, however many */
	uint32_t counter = 0;
	for (int i = 0; i < 10; i++)
		CHECK(!qs_qlog_sample(&counter, 0));
}

static void
test_split(void)
{
	static const size_t sizes[] = {0, 1, QS_QLOG_DATA_MAX - 1, QS_QLOG_DATA_MAX,
				       QS_QLOG_DATA_MAX + 1, 4096,
				       QS_QLOG_CHUNK_RECORDS * QS_QLOG_DATA_MAX,
				       QS_QLOG_CHUNK_RECORDS * QS_QLOG_DATA_MAX + 5};
	static struct qs_qlog_record recs[QS_QLOG_CHUNK_RECORDS];
	static uint8_t data[QS_QLOG_CHUNK_RECORDS * QS_QLOG_DATA_MAX + 5];
	static uint8_t back[sizeof(data)];
	const uint8_t cid[8] = {0x0a, 1, 2, 3, 4, 5, 6, 7};
	struct qs_qlog q;

	qs_qlog_start(&q, cid, sizeof(cid));
	CHECK_EQ(q.state, QS_QLOG_ON);
	fill(data, sizeof(data), 3);
	for (size_t s = 0; s < RTE_DIM(sizes); s++) {
		for (int fin = 0; fin <= 1; fin++) {
			size_t len = sizes[s], got = 0;
			unsigned int n;
			size_t taken = qs_qlog_split(&q, 40, data, len, fin, recs,
						     RTE_DIM(recs), &n);
			size_t want_n = (len + QS_QLOG_DATA_MAX - 1) / QS_QLOG_DATA_MAX;

			TEST_CONTEXT("chunk of %zu, fin %d", len, fin);
			if (want_n == 0 && fin)
				want_n = 1;
			if (want_n > QS_QLOG_CHUNK_RECORDS)
				want_n = QS_QLOG_CHUNK_RECORDS;
			CHECK_EQ(n, want_n);
			CHECK_EQ(taken, RTE_MIN(len, (size_t)QS_QLOG_CHUNK_RECORDS *
						     QS_QLOG_DATA_MAX));
			for (unsigned int i = 0; i < n; i++) {
				bool last = i + 1 == n && taken == len;

				CHECK_EQ(recs[i].seq, 40 + i);
				CHECK_EQ(recs[i].cid_len, 8);
				CHECK(memcmp(recs[i].cid, cid, 8) == 0);
				CHECK_EQ(recs[i].flags, fin && last ? QS_QLOG_FIN : 0);
				CHECK(recs[i].len <= QS_QLOG_DATA_MAX);
				memcpy(back + got, recs[i].data, recs[i].len);
				got += recs[i].len;
			}
			CHECK_EQ(got, taken);
			CHECK(memcmp(back, data, taken) == 0);
		}
	}
	TEST_CONTEXT_CLEAR();
}

/* Takes every record off ring; returns how many (into out). */
static unsigned int
take_all(struct rte_ring *ring, struct qs_qlog_record *out, unsigned int max)
{
	return rte_ring_sc_dequeue_burst_elem(ring, out, sizeof(out[0]), max, NULL);
}

static void
test_ring(void)
{
	static struct qs_qlog_record recs[32];
	static uint8_t chunk[4096];
	struct rte_ring *ring = rte_ring_create_elem("test_qlog_ring",
						     QS_QLOG_RECORD_SIZE, 16, 0,
						     RING_F_SP_ENQ | RING_F_SC_DEQ);
	const uint8_t cid_a[8] = {0x0a}, cid_b[8] = {0x0b}, cid_c[8] = {0x0c};
	struct qs_stats stats;
	struct qs_qlog a, b, c;
	unsigned int n;

	CHECK(ring != NULL);
	if (ring == NULL)
		return;
	memset(&stats, 0, sizeof(stats));
	fill(chunk, sizeof(chunk), 9);
	CHECK_EQ(rte_ring_get_capacity(ring), 15);
	CHECK_EQ(qs_qlog_reserve(ring), 1);

	/* 1 + 5 + 5 records fit (and the reserve); the next 5 do not */
	qs_qlog_start(&a, cid_a, sizeof(cid_a));
	qs_qlog_write(&a, ring, 0, chunk, 300, &stats);
	qs_qlog_write(&a, ring, 0, chunk, 4096, &stats);
	qs_qlog_write(&a, ring, 0, chunk, 4096, &stats);
	CHECK_EQ(rte_ring_count(ring), 11);
	CHECK_EQ(a.state, QS_QLOG_ON);
	CHECK_EQ(stats.qlog_dropped, 0);
	qs_qlog_write(&a, ring, 0, chunk, 4096, &stats);
	CHECK_EQ(stats.qlog_dropped, 1);
	CHECK_EQ(stats.qlog_truncated, 1);
	CHECK_EQ(a.state, QS_QLOG_DONE);       /* its TRUNCATED record fit */
	CHECK_EQ(rte_ring_count(ring), 12);
	/* nothing more of a, however much room there is */
	n = take_all(ring, recs, RTE_DIM(recs));
	CHECK_EQ(n, 12);
	qs_qlog_write(&a, ring, 0, chunk, 100, &stats);
	qs_qlog_write(&a, ring, NGTCP2_QLOG_WRITE_FLAG_FIN, chunk, 0, &stats);
	CHECK_EQ(rte_ring_count(ring), 0);
	CHECK_EQ(stats.qlog_dropped, 3);
	CHECK_EQ(stats.qlog_truncated, 1);
	/* what went: whole chunks, in order, then TRUNCATED */
	for (unsigned int i = 0; i < n; i++) {
		TEST_CONTEXT("record %u of a", i);
		CHECK_EQ(recs[i].seq, i);
		CHECK_EQ(recs[i].cid[0], 0x0a);
		CHECK_EQ(recs[i].flags, i == 11 ? QS_QLOG_TRUNCATED : 0);
		CHECK_EQ(recs[i].len, i == 0 ? 300 : i == 11 ? 0
				      : (i - 1) % 5 == 4 ? 4096 - 4 * QS_QLOG_DATA_MAX
				      : QS_QLOG_DATA_MAX);
	}
	TEST_CONTEXT_CLEAR();

	/* a chunk with data leaves the reserve; a FIN may take it */
	qs_qlog_start(&b, cid_b, sizeof(cid_b));
	qs_qlog_start(&c, cid_c, sizeof(cid_c));
	for (int i = 0; i < 14; i++)
		qs_qlog_write(&b, ring, 0, chunk, 10, &stats);
	CHECK_EQ(b.state, QS_QLOG_ON);
	CHECK_EQ(rte_ring_count(ring), 14);
	qs_qlog_write(&c, ring, NGTCP2_QLOG_WRITE_FLAG_FIN, chunk, 0, &stats);
	CHECK_EQ(c.state, QS_QLOG_DONE);
	CHECK_EQ(rte_ring_count(ring), 15);
	CHECK_EQ(stats.qlog_dropped, 3);
	/* the ring is full: b is cut and its TRUNCATED waits */
	qs_qlog_write(&b, ring, 0, chunk, 10, &stats);
	CHECK_EQ(b.state, QS_QLOG_CUT);
	CHECK_EQ(stats.qlog_dropped, 4);
	CHECK_EQ(stats.qlog_truncated, 2);
	qs_qlog_write(&b, ring, 0, chunk, 10, &stats);
	CHECK_EQ(b.state, QS_QLOG_CUT);
	CHECK_EQ(stats.qlog_dropped, 5);
	/* one slot frees: the next chunk of b (dropped too) sends it */
	n = rte_ring_sc_dequeue_burst_elem(ring, recs, sizeof(recs[0]), 1, NULL);
	CHECK_EQ(n, 1);
	qs_qlog_write(&b, ring, 0, chunk, 10, &stats);
	CHECK_EQ(b.state, QS_QLOG_DONE);
	CHECK_EQ(stats.qlog_dropped, 6);
	CHECK_EQ(stats.qlog_truncated, 2);
	n = take_all(ring, recs, RTE_DIM(recs));
	CHECK_EQ(n, 15);
	CHECK_EQ(recs[12].cid[0], 0x0b);       /* b's 2nd..14th */
	CHECK_EQ(recs[13].cid[0], 0x0c);
	CHECK_EQ(recs[13].flags, QS_QLOG_FIN);
	CHECK_EQ(recs[13].len, 0);
	CHECK_EQ(recs[14].cid[0], 0x0b);
	CHECK_EQ(recs[14].flags, QS_QLOG_TRUNCATED);
	CHECK_EQ(recs[14].seq, 14);
	rte_ring_free(ring);
}

/* ---- the writer ---- */

static bool
exists(const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return access(path, F_OK) == 0;
}

/* The file's bytes (NUL-terminated) and length, or NULL. */
static char *
slurp(const char *name, size_t *len)
{
	char path[256];
	FILE *f;
	char *buf;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	buf = calloc(1, 1 << 20);
	*len = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	return buf;
}

static unsigned int
count_files(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	unsigned int n = 0;

	while (d != NULL && (e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	return n;
}

static void
forge(struct rte_ring *ring, uint8_t cid0, uint32_t seq, uint8_t flags,
      const char *text)
{
	struct qs_qlog_record r;

	memset(&r, 0, sizeof(r));
	r.seq = seq;
	r.flags = flags;
	r.cid_len = 2;
	r.cid[0] = cid0;
	r.cid[1] = 0x99;
	r.len = (uint16_t)strlen(text);
	memcpy(r.data, text, r.len);
	CHECK_EQ(rte_ring_sp_enqueue_elem(ring, &r, sizeof(r)), 0);
}

static void
writer_config(struct qs_config *cfg)
{
	qs_config_defaults(cfg);
	snprintf(cfg->qlog_dir, sizeof(cfg->qlog_dir), "%s", tmpdir);
	cfg->qlog_ring = 256;
}

static void
test_writer(void)
{
	static uint8_t chunk[4096 * 3];
	const uint8_t cid1[8] = {0x01, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
	struct qs_logwriter lw;
	struct qs_config cfg;
	struct qs_stats stats;
	struct qs_qlog q1;
	char err[QS_ERR_LEN];
	size_t len, off = 0;
	char *text;

	writer_config(&cfg);
	memset(&stats, 0, sizeof(stats));
	CHECK_EQ(qs_logwriter_init(&lw, &cfg, 2, err, sizeof(err)), 0);
	CHECK(lw.qlog_on && !lw.access_on);
	lw.qlog.max_open = 3;
	fill(chunk, sizeof(chunk), 1);

	/* 1: as a worker writes it, with chunks of every size; complete */
	qs_qlog_start(&q1, cid1, sizeof(cid1));
	for (size_t size = 1; off + size <= sizeof(chunk); size = size * 3 + 1) {
		qs_qlog_write(&q1, lw.qlog.rings[0], 0, chunk + off, size, &stats);
		off += size;
	}
	/* 2: truncated by its worker; 3 and 7: never end; 4: a gap */
	forge(lw.qlog.rings[1], 0x02, 0, 0, "two-a");
	forge(lw.qlog.rings[1], 0x02, 1, 0, "two-b");
	forge(lw.qlog.rings[1], 0x02, 2, QS_QLOG_TRUNCATED, "");
	forge(lw.qlog.rings[1], 0x03, 0, 0, "three");
	/* (1 is done by now: ring 0 is drained first) 3, 4 and 7 open: 5
	 * starts beyond max_open */
	forge(lw.qlog.rings[1], 0x04, 0, 0, "four-a");
	forge(lw.qlog.rings[1], 0x07, 0, 0, "seven");
	forge(lw.qlog.rings[1], 0x05, 0, 0, "five");
	forge(lw.qlog.rings[1], 0x05, 1, QS_QLOG_FIN, "");
	forge(lw.qlog.rings[1], 0x04, 2, 0, "four-c");
	forge(lw.qlog.rings[1], 0x04, 3, QS_QLOG_FIN, "");
	/* 6: its first record was lost */
	forge(lw.qlog.rings[1], 0x06, 1, 0, "six-b");
	forge(lw.qlog.rings[1], 0x06, 2, QS_QLOG_FIN, "");
	qs_qlog_write(&q1, lw.qlog.rings[0], NGTCP2_QLOG_WRITE_FLAG_FIN, chunk, 0,
		      &stats);
	CHECK_EQ(stats.qlog_dropped, 0);
	qs_logwriter_fini(&lw);
	qs_logwriter_fini(&lw);      /* harmless twice */

	text = slurp("0111223344556677.sqlog", &len);
	CHECK(text != NULL);
	CHECK_EQ(len, off);
	CHECK(text != NULL && memcmp(text, chunk, off) == 0);
	free(text);
	text = slurp("0299.sqlog.truncated", &len);
	CHECK(text != NULL && strcmp(text, "two-atwo-b") == 0);
	free(text);
	text = slurp("0399.sqlog.truncated", &len);
	CHECK(text != NULL && strcmp(text, "three") == 0);
	free(text);
	text = slurp("0499.sqlog.truncated", &len);
	CHECK(text != NULL && strcmp(text, "four-a") == 0);
	free(text);
	text = slurp("0799.sqlog.truncated", &len);
	CHECK(text != NULL && strcmp(text, "seven") == 0);
	free(text);
	CHECK(!exists("0599.sqlog") && !exists("0599.sqlog.truncated"));
	CHECK(!exists("0699.sqlog") && !exists("0699.sqlog.truncated"));
	CHECK(!exists("0299.sqlog") && !exists("0399.sqlog") && !exists("0499.sqlog"));
	CHECK_EQ(count_files(), 5);
	CHECK_EQ(lw.qlog.files_complete, 1);
	CHECK_EQ(lw.qlog.files_truncated, 4);
	CHECK_EQ(lw.qlog.skipped, 1);
	CHECK_EQ(lw.qlog.records_ignored, 3);   /* 5's FIN, 6's two */
	CHECK_EQ(lw.qlog.n_open, 0);
}

/* The thread closes a file at its FIN, before any shutdown. */
static void
test_writer_thread(void)
{
	const uint8_t cid[4] = {0x0d, 0xd0, 0x0d, 0xd0};
	struct qs_logwriter lw;
	struct qs_config cfg;
	struct qs_stats stats;
	struct qs_qlog q;
	char err[QS_ERR_LEN];
	size_t len;
	char *text;

	writer_config(&cfg);
	memset(&stats, 0, sizeof(stats));
	CHECK_EQ(qs_logwriter_init(&lw, &cfg, 1, err, sizeof(err)), 0);
	CHECK_EQ(qs_logwriter_start(&lw), 0);
	qs_qlog_start(&q, cid, sizeof(cid));
	qs_qlog_write(&q, lw.qlog.rings[0], 0, "\x1e{\"a\":1}\n", 9, &stats);
	qs_qlog_write(&q, lw.qlog.rings[0], NGTCP2_QLOG_WRITE_FLAG_FIN, NULL, 0,
		      &stats);
	for (int i = 0; i < 500 && !exists("0dd00dd0.sqlog"); i++)
		usleep(10000);
	for (int i = 0; i < 500 && __atomic_load_n(&lw.qlog.files_complete,
						   __ATOMIC_ACQUIRE) == 0; i++)
		usleep(10000);
	CHECK_EQ(__atomic_load_n(&lw.qlog.files_complete, __ATOMIC_ACQUIRE), 1);
	text = slurp("0dd00dd0.sqlog", &len);
	CHECK(text != NULL && strcmp(text, "\x1e{\"a\":1}\n") == 0);
	free(text);
	qs_logwriter_fini(&lw);
	CHECK_EQ(lw.qlog.files_truncated, 0);

	/* a directory that is not there stops the start with its name */
	snprintf(cfg.qlog_dir, sizeof(cfg.qlog_dir), "%s/missing", tmpdir);
	err[0] = '\0';
	CHECK_EQ(qs_logwriter_init(&lw, &cfg, 1, err, sizeof(err)), -1);
	CHECK(strstr(err, "[debug] qlog_dir") != NULL);
	CHECK(strstr(err, "missing': No such file or directory") != NULL);
}

/* ---- qlog_live ---- */

struct first_chunk {
	uint8_t data[1024];
	size_t len;
};

static void
keep_first_chunk(void *user_data, uint32_t flags, const void *data, size_t len)
{
	struct first_chunk *f = user_data;

	(void)flags;
	if (f->len == 0 && len <= sizeof(f->data)) {
		memcpy(f->data, data, len);
		f->len = len;
	}
}

static void
zero_rand(uint8_t *dest, size_t len, const ngtcp2_rand_ctx *ctx)
{
	(void)ctx;
	memset(dest, 0, len);
}

static int
next_cid(ngtcp2_conn *conn, ngtcp2_cid *cid, uint8_t *token, size_t cidlen,
	 void *user_data)
{
	(void)conn; (void)user_data;
	memset(cid->data, 0x5c, cidlen);
	cid->datalen = cidlen;
	memset(token, 0, NGTCP2_STATELESS_RESET_TOKENLEN);
	return 0;
}

/* What ngtcp2 itself writes first for a server connection with odcid. */
static void
ngtcp2_header(const ngtcp2_cid *odcid, struct first_chunk *out)
{
	struct sockaddr_in local = {.sin_family = AF_INET}, remote = local;
	ngtcp2_cid scid = {.datalen = 8, .data = {1, 2, 3, 4, 5, 6, 7, 8}};
	ngtcp2_callbacks callbacks;
	ngtcp2_transport_params params;
	ngtcp2_settings settings;
	ngtcp2_conn *conn = NULL;
	ngtcp2_path path = {
		.local = {(ngtcp2_sockaddr *)&local, sizeof(local)},
		.remote = {(ngtcp2_sockaddr *)&remote, sizeof(remote)},
	};

	qs_quic_callbacks_init(&callbacks, true);
	callbacks.rand = zero_rand;
	callbacks.get_new_connection_id = next_cid;
	ngtcp2_settings_default(&settings);
	settings.initial_ts = 1;
	settings.qlog.write = keep_first_chunk;
	settings.qlog.odcid = *odcid;
	ngtcp2_transport_params_default(&params);
	params.original_dcid = *odcid;
	CHECK_EQ(ngtcp2_conn_server_new(&conn, odcid, &scid, &path,
					NGTCP2_PROTO_VER_V1, &callbacks,
					&settings, &params, NULL, out), 0);
	ngtcp2_conn_del(conn);
}

static void
test_live(void)
{
	static struct qs_qlog_record recs[8];
	static const uint8_t chunk[200] = {'x'};
	struct rte_ring *ring = rte_ring_create_elem("test_qlog_live",
						     QS_QLOG_RECORD_SIZE, 16, 0,
						     RING_F_SP_ENQ | RING_F_SC_DEQ);
	const uint8_t cid[8] = {0x1e, 0x55};
	ngtcp2_cid odcid = {.datalen = 20};
	struct first_chunk theirs = {.len = 0};
	uint8_t ours[QS_QLOG_HEADER_MAX];
	struct qs_stats stats;
	struct qs_qlog q;
	size_t len;

	CHECK(ring != NULL);
	if (ring == NULL)
		return;
	memset(&stats, 0, sizeof(stats));
	/* the header: ngtcp2's own, for the shortest and the longest ODCID */
	for (size_t odcid_len = 8; odcid_len <= 20; odcid_len += 12) {
		TEST_CONTEXT("ODCID of %zu bytes", odcid_len);
		odcid.datalen = odcid_len;
		for (size_t i = 0; i < odcid_len; i++)
			odcid.data[i] = (uint8_t)(0xf0 + i * 37);
		theirs.len = 0;
		ngtcp2_header(&odcid, &theirs);
		len = qs_qlog_header(ours, odcid.data, odcid.datalen);
		CHECK_EQ(len, theirs.len);
		CHECK(len == theirs.len && memcmp(ours, theirs.data, len) == 0);
	}
	TEST_CONTEXT_CLEAR();

	/* armed: nothing goes and nothing is counted, FIN included */
	qs_qlog_arm(&q);
	CHECK_EQ(q.state, QS_QLOG_ARMED);
	qs_qlog_write(&q, ring, 0, chunk, sizeof(chunk), &stats);
	qs_qlog_write(&q, ring, 0, chunk, sizeof(chunk), &stats);
	CHECK_EQ(rte_ring_count(ring), 0);
	CHECK_EQ(stats.qlog_dropped, 0);
	/* started: the header first, then each chunk */
	CHECK_EQ(qs_qlog_start_live(&q, cid, sizeof(cid), odcid.data,
				    odcid.datalen, ring, &stats), 0);
	CHECK_EQ(q.state, QS_QLOG_ON);
	CHECK_EQ(qs_qlog_start_live(&q, cid, sizeof(cid), odcid.data,
				    odcid.datalen, ring, &stats), -1);
	qs_qlog_write(&q, ring, 0, chunk, sizeof(chunk), &stats);
	qs_qlog_write(&q, ring, NGTCP2_QLOG_WRITE_FLAG_FIN, chunk, 0, &stats);
	CHECK_EQ(q.state, QS_QLOG_DONE);
	CHECK_EQ(take_all(ring, recs, RTE_DIM(recs)), 3);
	len = qs_qlog_header(ours, odcid.data, odcid.datalen);
	CHECK_EQ(recs[0].seq, 0);
	CHECK_EQ(recs[0].len, len);
	CHECK(memcmp(recs[0].data, ours, len) == 0);
	CHECK(memcmp(recs[0].cid, cid, sizeof(cid)) == 0);
	CHECK_EQ(recs[1].seq, 1);
	CHECK_EQ(recs[1].len, sizeof(chunk));
	CHECK_EQ(recs[2].flags, QS_QLOG_FIN);
	CHECK_EQ(stats.qlog_dropped, 0);
	/* only an armed connection starts: not one that was never armed */
	memset(&q, 0, sizeof(q));
	CHECK_EQ(qs_qlog_start_live(&q, cid, sizeof(cid), odcid.data,
				    odcid.datalen, ring, &stats), -1);
	CHECK_EQ(q.state, QS_QLOG_OFF);
	CHECK_EQ(rte_ring_count(ring), 0);
	rte_ring_free(ring);
}

int
main(void)
{
	char cmd[128];

	test_eal_init("qlog", "0");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/qs-test-qlog-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_sample();
	test_split();
	test_ring();
	test_live();
	test_writer();
	test_writer_thread();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	test_eal_cleanup();
	return test_done("test_qlog");
}
