/* Reload without restart: what the workers read of the configuration, the
 * TLS credentials and the content store is one published generation. A
 * reload builds the next one beside it (the same checks and messages as at
 * start), swaps one pointer, and retires the old one. Each worker picks the
 * pointer up at the top of its loop and reports a quiescent state there
 * (DPDK's rte_rcu_qsbr), so once every worker has passed one since the
 * swap, no worker takes anything new from the old generation; its
 * configuration is freed then, its credentials and store once the last
 * handshake and the last response that hold them (base/qs_holds.h) are
 * gone. Control plane only (main lcore), except qs_reload_pick_up. */
#ifndef QS_RELOAD_H
#define QS_RELOAD_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_rcu_qsbr.h>
#include <rte_spinlock.h>

#include "base/qs_config.h"
#include "http/qs_content.h"
#include "quic/qs_tls.h"

/* retired generations still in use; one more reload is refused */
#define QS_RELOAD_RETIRED_MAX 8

struct qs_generation {
	struct qs_config cfg;
	struct qs_tls_creds *tls;        /* NULL: no TLS */
	struct qs_content *content;
	uint64_t number;                 /* 1 at start, +1 a reload */
};

struct qs_retired {
	struct qs_generation *gen;       /* NULL: slot free */
	uint64_t token;                  /* rte_rcu_qsbr_start at the swap */
	bool grace_passed;               /* every worker was quiescent since */
};

struct qs_reload_status {
	uint64_t generation;             /* the current one */
	uint64_t reloads;                /* applied, since start */
	uint64_t refused;
	unsigned int retired;            /* generations not yet freed */
	bool last_ok;
	char last[QS_ERR_LEN];           /* what the last reload said */
};

struct qs_reload {
	struct qs_generation *current;   /* workers load it (acquire) */
	struct rte_rcu_qsbr *qsbr;       /* thread id: worker index */
	uint16_t n_workers;
	struct qs_retired retired[QS_RELOAD_RETIRED_MAX];
	/* what qs_reload_status reads, from any thread */
	rte_spinlock_t status_lock;
	struct qs_reload_status status;
};

/* Generation 1 from cfg: reads the credentials (when cfg names a
 * certificate) and the document root; the QSBR variable for n_workers,
 * each of them already online (a worker that has not run yet must hold
 * up a grace period, since it starts with generation 1). err says what is
 * wrong, as at start. */
int qs_reload_init(struct qs_reload *r, const struct qs_config *cfg,
		   uint16_t n_workers, char *err, size_t errlen);
/* Frees every generation; the workers are gone. */
void qs_reload_fini(struct qs_reload *r);

/* Makes next the current generation, or changes nothing: msg says which
 * (what was loaded; or why not: a setting only a restart changes, a file
 * that does not load, the same text as at start). Returns 0 when applied. */
int qs_reload_apply(struct qs_reload *r, const struct qs_config *next,
		    char *msg, size_t msglen);

/* A reload that did not get as far as qs_reload_apply (its configuration
 * did not build): counted and reported as refused. */
void qs_reload_refused(struct qs_reload *r, const char *msg);

/* Frees what retired generations no longer need; returns how many are
 * still retired. Cheap: the control plane calls it every tick. */
unsigned int qs_reload_reclaim(struct qs_reload *r);

/* A copy of the status; any thread. */
void qs_reload_status(struct qs_reload *r, struct qs_reload_status *out);

/* Worker w, at the top of each loop iteration: reports the quiescent
 * state, then returns the current generation. */
static inline const struct qs_generation *
qs_reload_pick_up(struct qs_reload *r, uint16_t w)
{
	rte_rcu_qsbr_quiescent(r->qsbr, w);
	return __atomic_load_n(&r->current, __ATOMIC_ACQUIRE);
}

/* Worker w leaves its loop: grace periods no longer wait for it. */
void qs_reload_worker_exit(struct qs_reload *r, uint16_t w);

#endif
