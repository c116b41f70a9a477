#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_ring.h>

#include "dataplane/qs_ctl.h"

#define WAIT_STEP_US 1000

static void
conn_info(const struct qs_conn *c, uint16_t worker, uint64_t now,
	  struct qs_ctl_conn_info *out)
{
	static const char *const states[] = {"open", "closing", "draining"};
	const struct qs_net_path *p = &c->cur->net;
	char addr[INET6_ADDRSTRLEN] = "?";
	ngtcp2_conn_stat st;

	memset(out, 0, sizeof(*out));
	for (size_t j = 0; j < c->first_cid.datalen; j++)
		snprintf(out->cid + 2 * j, 3, "%02x", c->first_cid.data[j]);
	if (p->remote.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &p->remote.in6.sin6_addr, addr, sizeof(addr));
		snprintf(out->peer, sizeof(out->peer), "[%s]:%u", addr,
			 ntohs(p->remote.in6.sin6_port));
	} else {
		inet_ntop(AF_INET, &p->remote.in.sin_addr, addr, sizeof(addr));
		snprintf(out->peer, sizeof(out->peer), "%s:%u", addr,
			 ntohs(p->remote.in.sin_port));
	}
	ngtcp2_conn_get_conn_stat(c->q.conn, &st);
	out->state = states[c->state];
	out->age_ms = (now - c->created_ns) / 1000000;
	out->srtt_us = st.smoothed_rtt / 1000;
	out->rx_bytes = c->rx_bytes;
	out->tx_bytes = c->tx_bytes;
	out->streams = c->n_streams;
	out->n_cids = c->n_cids;
	out->migrations_seen = c->n_paths;
	out->mem_ngtcp2 = c->q.mem[QS_MEM_NGTCP2];
	out->mem_nghttp3 = c->q.mem[QS_MEM_NGHTTP3];
	out->mem_quicsteer = sizeof(*c) + (c->close_pkt != NULL ? c->close_len : 0);
	out->qlog_state = c->qlog.state;
	out->worker = worker;
}

static bool
conn_has_cid(const struct qs_conn *c, const uint8_t *cid, uint8_t len)
{
	for (uint8_t i = 0; i < c->n_cids; i++)
		if (c->cids[i].datalen == len && memcmp(c->cids[i].data, cid, len) == 0)
			return true;
	return false;
}

void
qs_ctl_serve(struct qs_conn_set *set, struct qs_ctl_req *req)
{
	struct qs_conn *c;
	uint32_t max = RTE_MIN(req->max, (uint32_t)QS_CTL_MAX_CONNS);
	uint16_t worker = set->env->worker;
	uint64_t now = set->env->now;

	req->n_conns = set->n_conns;
	req->n_out = 0;
	LIST_FOREACH(c, &set->conns, link) {
		if (req->type != QS_CTL_CONNS) {
			if (conn_has_cid(c, req->cid, req->cid_len)) {
				if (req->type == QS_CTL_QLOG_ON)
					req->qlog_started = qs_conn_qlog_start(c);
				conn_info(c, worker, now, &req->out[0]);
				req->n_out = 1;
				break;
			}
			continue;
		}
		/* keep the busiest: insertion into a short sorted list */
		uint64_t bytes = c->rx_bytes + c->tx_bytes;
		uint32_t pos = req->n_out;

		while (pos > 0 && req->out[pos - 1].rx_bytes +
					  req->out[pos - 1].tx_bytes < bytes)
			pos--;
		if (pos >= max)
			continue;
		if (req->n_out < max)
			req->n_out++;
		memmove(&req->out[pos + 1], &req->out[pos],
			(req->n_out - 1 - pos) * sizeof(req->out[0]));
		conn_info(c, worker, now, &req->out[pos]);
	}
	if (__atomic_exchange_n(&req->state, QS_CTL_DONE, __ATOMIC_ACQ_REL) ==
	    QS_CTL_ABANDONED)
		free(req);
}

unsigned int
qs_ctl_ask_all(struct rte_ring *const *rings, uint16_t n,
	       const struct qs_ctl_req *question, unsigned int timeout_ms,
	       struct qs_ctl_req **answers)
{
	unsigned int waiting = 0, answered = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct qs_ctl_req *req = malloc(sizeof(*req));

		answers[i] = NULL;
		if (req == NULL)
			continue;
		*req = *question;
		req->state = QS_CTL_PENDING;
		if (rte_ring_enqueue(rings[i], req) != 0) {
			free(req);
			continue;
		}
		answers[i] = req;
		waiting++;
	}
	for (unsigned int waited = 0; waiting > answered && waited < timeout_ms * 1000;
	     waited += WAIT_STEP_US) {
		answered = 0;
		for (uint16_t i = 0; i < n; i++)
			answered += answers[i] != NULL &&
				__atomic_load_n(&answers[i]->state,
						__ATOMIC_ACQUIRE) == QS_CTL_DONE;
		if (answered < waiting)
			usleep(WAIT_STEP_US);
	}
	answered = 0;
	for (uint16_t i = 0; i < n; i++) {
		if (answers[i] == NULL)
			continue;
		/* too late: the worker frees it when it gets to it, unless it
		 * answered just now */
		if (__atomic_exchange_n(&answers[i]->state, QS_CTL_ABANDONED,
					__ATOMIC_ACQ_REL) != QS_CTL_DONE)
			answers[i] = NULL;
		else
			answered++;
	}
	return answered;
}

void
qs_ctl_release(struct qs_ctl_req *req)
{
	free(req);
}

void
qs_ctl_drain(struct rte_ring *ring)
{
	struct qs_ctl_req *req = NULL;

	while (ring != NULL && rte_ring_dequeue(ring, (void **)&req) == 0)
		if (__atomic_exchange_n(&req->state, QS_CTL_DONE, __ATOMIC_ACQ_REL) ==
		    QS_CTL_ABANDONED)
			free(req);
}

int
qs_ctl_parse_cid(const char *hex, uint8_t *cid)
{
	size_t n = strlen(hex);

	if (n == 0 || n % 2 != 0 || n / 2 > 20)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned int b;

		if (!isxdigit((unsigned char)hex[2 * i]) ||
		    !isxdigit((unsigned char)hex[2 * i + 1]) ||
		    sscanf(hex + 2 * i, "%2x", &b) != 1)
			return -1;
		cid[i] = (uint8_t)b;
	}
	return (int)(n / 2);
}
