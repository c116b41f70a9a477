/* Control requests (lib/dataplane/qs_ctl.c): the control plane asks every
 * worker at once and waits one timeout in all; a worker that answers in
 * time hands its answer back, one that answers late frees the request
 * itself (LeakSanitizer in the san build checks nothing leaks), and what is
 * left in a stopped worker's ring is freed at teardown. Also the CID
 * parser of `show conn <cid>`. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ring.h>

#include "dataplane/qs_ctl.h"
#include "quic/qs_conn.h"
#include "qs_test.h"
#include "qs_test_eal.h"

#define TIMEOUT_MS 50
#define N_RINGS 3

static struct rte_ring *rings[N_RINGS];
static struct qs_env env = {.worker = 2};
static struct qs_conn_set set = {.env = &env};
static volatile int stop_answering;

/* A worker that answers ring 0 at once, as the worker loop does between
 * bursts. */
static void *
answer_ring0(void *arg)
{
	struct qs_ctl_req *req = NULL;

	(void)arg;
	while (!__atomic_load_n(&stop_answering, __ATOMIC_ACQUIRE)) {
		if (rte_ring_dequeue(rings[0], (void **)&req) == 0)
			qs_ctl_serve(&set, req);
		else
			rte_delay_us_sleep(100);
	}
	return NULL;
}

/* Serves what a worker's ring holds now. */
static unsigned int
serve_late(struct rte_ring *ring)
{
	struct qs_ctl_req *req = NULL;
	unsigned int n = 0;

	while (rte_ring_dequeue(ring, (void **)&req) == 0) {
		qs_ctl_serve(&set, req);
		n++;
	}
	return n;
}

static void
test_ask_all(void)
{
	struct qs_ctl_req q = {.type = QS_CTL_CONNS, .max = 4};
	struct qs_ctl_req *answers[N_RINGS];
	uint64_t t0, ms;
	pthread_t t;

	TEST_CONTEXT("ask all: one answers, two do not");
	CHECK_EQ(pthread_create(&t, NULL, answer_ring0, NULL), 0);
	t0 = rte_get_timer_cycles();
	CHECK_EQ(qs_ctl_ask_all(rings, N_RINGS, &q, TIMEOUT_MS, answers), 1);
	ms = (rte_get_timer_cycles() - t0) * 1000 / rte_get_timer_hz();
	__atomic_store_n(&stop_answering, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	/* one timeout for all of them, not one per worker */
	CHECK(ms >= TIMEOUT_MS - 5 && ms < 2 * TIMEOUT_MS + 50);
	CHECK(answers[0] != NULL);
	if (answers[0] != NULL) {
		CHECK_EQ(answers[0]->n_conns, 0);
		CHECK_EQ(answers[0]->n_out, 0);
		qs_ctl_release(answers[0]);
	}
	CHECK(answers[1] == NULL);
	CHECK(answers[2] == NULL);

	/* the late workers answer now and free what nobody waits for */
	TEST_CONTEXT("late answers");
	CHECK_EQ(serve_late(rings[1]), 1);
	/* a stopped worker's ring at teardown */
	CHECK_EQ(rte_ring_count(rings[2]), 1);
	qs_ctl_drain(rings[2]);
	CHECK_EQ(rte_ring_count(rings[2]), 0);
	TEST_CONTEXT_CLEAR();
}

/* A full ring: no request is lost or leaked, the answer is NULL at once. */
static void
test_full_ring(void)
{
	struct qs_ctl_req q = {.type = QS_CTL_CONNS, .max = 1};
	struct qs_ctl_req *answers[1];
	struct rte_ring *full = rte_ring_create("test_ctl_full", 2, SOCKET_ID_ANY,
						RING_F_SC_DEQ);
	int filler;

	TEST_CONTEXT("full ring");
	CHECK(full != NULL);
	if (full == NULL)
		return;
	while (rte_ring_enqueue(full, &filler) == 0)
		;
	CHECK_EQ(qs_ctl_ask_all(&full, 1, &q, TIMEOUT_MS, answers), 0);
	CHECK(answers[0] == NULL);
	rte_ring_free(full);
	TEST_CONTEXT_CLEAR();
}

static void
test_parse_cid(void)
{
	uint8_t cid[20];

	CHECK_EQ(qs_ctl_parse_cid("00ff10Ab", cid), 4);
	CHECK(cid[0] == 0x00 && cid[1] == 0xff && cid[2] == 0x10 && cid[3] == 0xab);
	CHECK_EQ(qs_ctl_parse_cid("", cid), -1);
	CHECK_EQ(qs_ctl_parse_cid("abc", cid), -1);
	CHECK_EQ(qs_ctl_parse_cid("zz", cid), -1);
	CHECK_EQ(qs_ctl_parse_cid("0x01", cid), -1);
	CHECK_EQ(qs_ctl_parse_cid(" 1", cid), -1);
	/* 20 bytes is the longest CID, 21 is refused */
	CHECK_EQ(qs_ctl_parse_cid("0102030405060708090a0b0c0d0e0f1011121314", cid), 20);
	CHECK_EQ(qs_ctl_parse_cid("0102030405060708090a0b0c0d0e0f101112131415", cid), -1);
}

int
main(void)
{
	char name[RTE_RING_NAMESIZE];

	test_eal_init("ctl", "0");
	LIST_INIT(&set.conns);
	for (int i = 0; i < N_RINGS; i++) {
		snprintf(name, sizeof(name), "test_ctl_%d", i);
		rings[i] = rte_ring_create(name, 16, SOCKET_ID_ANY, RING_F_SC_DEQ);
		if (rings[i] == NULL) {
			fprintf(stderr, "test_ctl: no ring\n");
			return 2;
		}
	}
	test_ask_all();
	test_full_ring();
	test_parse_cid();
	for (int i = 0; i < N_RINGS; i++)
		rte_ring_free(rings[i]);
	test_eal_cleanup();
	return test_done("test_ctl");
}
