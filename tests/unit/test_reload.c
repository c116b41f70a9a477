/* Reload generations (lib/dataplane/qs_reload.c) with the workers played
 * by the test: when an old generation is freed (grace period through
 * rte_rcu_qsbr, then the holds on its credentials and store), what a
 * reload refuses and that a refusal changes nothing, and the bound on old
 * generations waiting. Under ASan a generation freed too early is a
 * use-after-free here. */
#include <string.h>
#include <time.h>

#include "dataplane/qs_reload.h"
#include "qs_inproc.h"
#include "qs_test.h"
#include "qs_test_eal.h"

#define WORKERS 3

static struct qs_inproc_files fx;
static struct qs_config base;

static void
config_of(struct qs_config *cfg, const char *docroot)
{
	char err[QS_ERR_LEN];

	qs_config_defaults(cfg);
	if (qs_config_set(cfg, "listen", "addr", "198.18.0.1", err, sizeof(err)) ||
	    qs_config_set(cfg, "tls", "cert", fx.cert, err, sizeof(err)) ||
	    qs_config_set(cfg, "tls", "key", fx.key, err, sizeof(err)) ||
	    qs_config_set(cfg, "http", "docroot", docroot, err, sizeof(err)))
		qs_inproc_die("config", err);
}

/* Every worker reports a quiescent state and takes the current one. */
static const struct qs_generation *
all_pick_up(struct qs_reload *r)
{
	const struct qs_generation *g = NULL;

	for (uint16_t w = 0; w < WORKERS; w++)
		g = qs_reload_pick_up(r, w);
	return g;
}

static void
test_grace_and_holds(void)
{
	struct qs_reload r;
	struct qs_config next;
	const struct qs_generation *g1, *g2;
	struct qs_content *old_store;
	struct qs_reload_status st;
	char err[QS_ERR_LEN], msg[QS_ERR_LEN], root2[PATH_MAX + 8];

	CHECK_EQ(qs_reload_init(&r, &base, WORKERS, err, sizeof(err)), 0);
	g1 = all_pick_up(&r);
	CHECK(g1 != NULL && g1->number == 1 && g1->tls != NULL);
	CHECK(qs_content_find(g1->content, "/notes.txt", 10) != NULL);

	/* worker 1 serves a response from the store of generation 1 and a
	 * handshake with its credentials */
	old_store = g1->content;
	qs_holds_take(&g1->content->holds, 1);
	qs_holds_take(&g1->tls->holds, 2);

	snprintf(root2, sizeof(root2), "%s/www2", fx.dir);
	qs_inproc_files_put(&fx, "../www2/new.txt", "new\n", 4);
	config_of(&next, root2);
	CHECK_EQ(qs_config_set(&next, "quic", "idle_timeout_ms", "1234", err,
			       sizeof(err)), 0);
	CHECK_EQ(qs_reload_apply(&r, &next, msg, sizeof(msg)), 0);
	CHECK_CONTAINS(msg, "reload: generation 2");
	CHECK_CONTAINS(msg, "1 files");
	qs_reload_status(&r, &st);
	CHECK(st.generation == 2 && st.reloads == 1 && st.refused == 0 &&
	      st.last_ok && st.retired == 1);

	/* no worker has passed a quiescent point since the swap */
	CHECK_EQ(qs_reload_reclaim(&r), 1);
	g2 = qs_reload_pick_up(&r, 0);
	CHECK(g2 != g1 && g2->number == 2 && g2->cfg.idle_timeout_ms == 1234);
	CHECK(qs_content_find(g2->content, "/new.txt", 8) != NULL);
	CHECK(qs_content_find(g2->content, "/notes.txt", 10) == NULL);
	CHECK_EQ(qs_reload_reclaim(&r), 1);
	qs_reload_pick_up(&r, 1);
	CHECK_EQ(qs_reload_reclaim(&r), 1);
	/* all three passed: the configuration could go, the holds keep the
	 * generation (its store still serves worker 1's response) */
	qs_reload_pick_up(&r, 2);
	CHECK_EQ(qs_reload_reclaim(&r), 1);
	CHECK(qs_content_find(old_store, "/notes.txt", 10) != NULL);
	qs_holds_drop(&old_store->holds, 1);
	CHECK_EQ(qs_reload_reclaim(&r), 1);     /* the handshake goes on */
	qs_holds_drop(&g1->tls->holds, 2);
	CHECK_EQ(qs_reload_reclaim(&r), 0);
	qs_reload_status(&r, &st);
	CHECK_EQ(st.retired, 0);

	/* a worker that left its loop holds up no grace period */
	qs_reload_worker_exit(&r, 2);
	CHECK_EQ(qs_reload_apply(&r, &base, msg, sizeof(msg)), 0);
	qs_reload_pick_up(&r, 0);
	qs_reload_pick_up(&r, 1);
	CHECK_EQ(qs_reload_reclaim(&r), 0);
	qs_reload_fini(&r);
}

static void
test_refusals(void)
{
	struct qs_reload r;
	struct qs_config next;
	struct qs_reload_status st;
	const struct qs_generation *g;
	char err[QS_ERR_LEN], msg[QS_ERR_LEN];
	unsigned int applied = 0;

	CHECK_EQ(qs_reload_init(&r, &base, WORKERS, err, sizeof(err)), 0);
	g = all_pick_up(&r);

	/* settings only a restart changes: named, nothing changes */
	next = base;
	CHECK_EQ(qs_config_set(&next, "quic", "max_conns", "7", err,
			       sizeof(err)), 0);
	CHECK_EQ(qs_config_set(&next, "listen", "port", "8443", err,
			       sizeof(err)), 0);
	CHECK_EQ(qs_reload_apply(&r, &next, msg, sizeof(msg)), -1);
	CHECK_CONTAINS(msg, "only a restart changes [listen] port, [quic] max_conns");
	CHECK(all_pick_up(&r) == g);

	/* TLS off */
	next = base;
	next.cert[0] = next.key[0] = '\0';
	CHECK_EQ(qs_reload_apply(&r, &next, msg, sizeof(msg)), -1);
	CHECK_CONTAINS(msg, "turns TLS off");

	/* a key of another certificate, a docroot that is gone */
	next = base;
	snprintf(next.key, sizeof(next.key), "%s", fx.cert);
	CHECK_EQ(qs_reload_apply(&r, &next, msg, sizeof(msg)), -1);
	CHECK_CONTAINS(msg, "reload refused: config error: [tls]");
	next = base;
	if (strlen(fx.dir) + 6 > sizeof(next.docroot))
		qs_inproc_die("path too long", fx.dir);
	memcpy(next.docroot, fx.dir, strlen(fx.dir));
	memcpy(next.docroot + strlen(fx.dir), "/gone", 6);
	CHECK_EQ(qs_reload_apply(&r, &next, msg, sizeof(msg)), -1);
	CHECK_CONTAINS(msg, "/gone': No such file or directory");
	CHECK(all_pick_up(&r) == g);
	qs_reload_status(&r, &st);
	CHECK(st.generation == 1 && st.reloads == 0 && st.refused == 4 &&
	      !st.last_ok && st.retired == 0);

	/* worker 0 never comes back to its loop's top: old generations pile
	 * up to the bound, then a reload is refused until they can go */
	while (qs_reload_apply(&r, &base, msg, sizeof(msg)) == 0)
		applied++;
	CHECK_EQ(applied, QS_RELOAD_RETIRED_MAX);
	CHECK_CONTAINS(msg, "still in use");
	for (uint16_t w = 0; w < WORKERS; w++)
		qs_reload_pick_up(&r, w);
	CHECK_EQ(qs_reload_reclaim(&r), 0);
	CHECK_EQ(qs_reload_apply(&r, &base, msg, sizeof(msg)), 0);
	qs_reload_status(&r, &st);
	CHECK_EQ(st.generation, QS_RELOAD_RETIRED_MAX + 2);
	qs_reload_fini(&r);
}

int
main(void)
{
	time_t now = time(NULL);
	const struct qs_inproc_cert cert = {
		.cn = "quicsteer reload test",
		.not_before = now - 3600,
		.not_after = now + 86400,
	};
	char err[QS_ERR_LEN];

	test_eal_init("reload", "0");
	qs_inproc_files_make(&fx, "test-reload", &cert, 100);
	config_of(&base, fx.docroot);
	if (qs_tls_init(&base, err, sizeof(err)) != 0)
		qs_inproc_die("qs_tls_init", err);
	test_grace_and_holds();
	test_refusals();
	qs_tls_fini();
	qs_inproc_files_remove(&fx);
	test_eal_cleanup();
	return test_done("test_reload");
}
