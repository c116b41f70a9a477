#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>

#include "base/qs_log.h"
#include "dataplane/qs_reload.h"

static void
generation_free(struct qs_generation *g)
{
	if (g == NULL)
		return;
	qs_tls_creds_free(g->tls);
	qs_content_free(g->content);
	free(g);
}

/* Reads what cfg names; NULL with err as at start. */
static struct qs_generation *
generation_load(const struct qs_config *cfg, uint16_t n_workers, char *err,
		size_t errlen)
{
	struct qs_generation *g = calloc(1, sizeof(*g));

	if (g == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->cfg = *cfg;
	if (qs_tls_enabled()) {
		g->tls = qs_tls_creds_load(cfg, n_workers, err, errlen);
		if (g->tls == NULL)
			goto fail;
	}
	g->content = qs_content_load(cfg->docroot,
				     (uint64_t)cfg->docroot_max_mb << 20,
				     n_workers, err, errlen);
	if (g->content == NULL)
		goto fail;
	return g;
fail:
	generation_free(g);
	return NULL;
}

int
qs_reload_init(struct qs_reload *r, const struct qs_config *cfg,
	       uint16_t n_workers, char *err, size_t errlen)
{
	size_t size;

	memset(r, 0, sizeof(*r));
	r->n_workers = n_workers;
	r->current = generation_load(cfg, n_workers, err, errlen);
	if (r->current == NULL)
		return -1;
	r->current->number = 1;
	size = rte_rcu_qsbr_get_memsize(RTE_MAX(n_workers, 1));
	r->qsbr = rte_zmalloc("qs_reload_qsbr", size, RTE_CACHE_LINE_SIZE);
	if (r->qsbr == NULL ||
	    rte_rcu_qsbr_init(r->qsbr, RTE_MAX(n_workers, 1)) != 0) {
		snprintf(err, errlen, "reload: no memory for the QSBR variable "
			 "(%zu bytes): %s", size, rte_strerror(rte_errno));
		qs_reload_fini(r);
		return -1;
	}
	for (uint16_t w = 0; w < n_workers; w++) {
		rte_rcu_qsbr_thread_register(r->qsbr, w);
		rte_rcu_qsbr_thread_online(r->qsbr, w);
	}
	rte_spinlock_init(&r->status_lock);
	r->status.generation = 1;
	r->status.last_ok = true;
	snprintf(r->status.last, sizeof(r->status.last), "generation 1 (start)");
	return 0;
}

void
qs_reload_fini(struct qs_reload *r)
{
	for (unsigned int i = 0; i < QS_RELOAD_RETIRED_MAX; i++) {
		generation_free(r->retired[i].gen);
		r->retired[i].gen = NULL;
	}
	generation_free(r->current);
	r->current = NULL;
	rte_free(r->qsbr);
	r->qsbr = NULL;
}

void
qs_reload_worker_exit(struct qs_reload *r, uint16_t w)
{
	rte_rcu_qsbr_thread_offline(r->qsbr, w);
}

static void
status_set(struct qs_reload *r, bool ok, const char *msg)
{
	rte_spinlock_lock(&r->status_lock);
	r->status.generation = r->current->number;
	if (ok)
		r->status.reloads++;
	else
		r->status.refused++;
	r->status.last_ok = ok;
	snprintf(r->status.last, sizeof(r->status.last), "%s", msg);
	rte_spinlock_unlock(&r->status_lock);
}

void
qs_reload_refused(struct qs_reload *r, const char *msg)
{
	status_set(r, false, msg);
}

static int
refuse(struct qs_reload *r, const char *msg)
{
	qs_reload_refused(r, msg);
	return -1;
}

void
qs_reload_status(struct qs_reload *r, struct qs_reload_status *out)
{
	rte_spinlock_lock(&r->status_lock);
	*out = r->status;
	rte_spinlock_unlock(&r->status_lock);
}

int
qs_reload_apply(struct qs_reload *r, const struct qs_config *next, char *msg,
		size_t msglen)
{
	const struct qs_config *cur = &r->current->cfg;
	struct qs_retired *slot = NULL;
	struct qs_generation *g;
	char names[QS_ERR_LEN - 64], err[QS_ERR_LEN];
	unsigned int n;

	qs_reload_reclaim(r);
	n = qs_config_fixed_changes(cur, next, names, sizeof(names));
	if (n > 0) {
		snprintf(msg, msglen, "reload refused: only a restart changes "
			 "%s (the running values stay)", names);
		return refuse(r, msg);
	}
	if ((cur->cert[0] == '\0') != (next->cert[0] == '\0')) {
		snprintf(msg, msglen, "reload refused: only a restart turns TLS "
			 "%s ([tls] cert and key)", cur->cert[0] ? "off" : "on");
		return refuse(r, msg);
	}
	for (unsigned int i = 0; i < QS_RELOAD_RETIRED_MAX && slot == NULL; i++)
		if (r->retired[i].gen == NULL)
			slot = &r->retired[i];
	if (slot == NULL) {
		snprintf(msg, msglen, "reload refused: %d earlier generations "
			 "are still in use by connections or responses; try "
			 "again when they finish", QS_RELOAD_RETIRED_MAX);
		return refuse(r, msg);
	}
	g = generation_load(next, r->n_workers, err, sizeof(err));
	if (g == NULL) {
		snprintf(msg, msglen, "reload refused: config error: %s", err);
		return refuse(r, msg);
	}
	g->number = r->current->number + 1;

	slot->gen = r->current;
	slot->grace_passed = false;
	__atomic_store_n(&r->current, g, __ATOMIC_RELEASE);
	slot->token = rte_rcu_qsbr_start(r->qsbr);
	snprintf(msg, msglen, "reload: generation %" PRIu64 "%s%s: cert %s, "
		 "docroot %s (%zu files, %" PRIu64 " bytes)", g->number,
		 next->file[0] ? " from " : "", next->file,
		 next->cert[0] ? next->cert : "(none)",
		 next->docroot[0] ? next->docroot : "(none)",
		 qs_content_count(g->content), qs_content_bytes(g->content));
	status_set(r, true, msg);
	qs_reload_reclaim(r);
	return 0;
}

unsigned int
qs_reload_reclaim(struct qs_reload *r)
{
	unsigned int left = 0;

	for (unsigned int i = 0; i < QS_RELOAD_RETIRED_MAX; i++) {
		struct qs_retired *s = &r->retired[i];
		struct qs_generation *g = s->gen;

		if (g == NULL)
			continue;
		if (!s->grace_passed)
			s->grace_passed =
				rte_rcu_qsbr_check(r->qsbr, s->token, false) == 1;
		if (!s->grace_passed) {
			left++;
			continue;
		}
		if (g->tls != NULL && qs_holds_total(&g->tls->holds) == 0) {
			qs_tls_creds_free(g->tls);
			g->tls = NULL;
		}
		if (g->content != NULL &&
		    qs_holds_total(&g->content->holds) == 0) {
			qs_content_free(g->content);
			g->content = NULL;
		}
		if (g->tls == NULL && g->content == NULL) {
			RTE_LOG(INFO, QS_DP, "reload: generation %" PRIu64
				" freed\n", g->number);
			generation_free(g);
			s->gen = NULL;
		} else {
			left++;
		}
	}
	rte_spinlock_lock(&r->status_lock);
	r->status.retired = left;
	rte_spinlock_unlock(&r->status_lock);
	return left;
}
