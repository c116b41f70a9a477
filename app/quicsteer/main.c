/* quicsteer: HTTP/3 server dataplane on DPDK.
 *   quicsteer [EAL options] -- [--config FILE] [overrides] [-i]
 * The main lcore runs the control plane (CLI, telemetry, signals); every
 * other lcore runs the worker loop of lib/dataplane/qs_lcore.c. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_pdump.h>

#include "cli.h"
#include "options.h"
#include "base/qs_config.h"
#include "dataplane/qs_dataplane.h"
#include "base/qs_log.h"
#include "dataplane/qs_telemetry.h"

#define WAIT_POLL_US 100000

static volatile bool stop_requested;
static volatile bool reload_requested;           /* SIGHUP, for tick */
static struct qs_dataplane *volatile drain_dp;  /* set once signals can act */

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = true;
}

/* SIGUSR1: drain; SIGHUP: reopen the access log now, reload at the next
 * tick (a reload reads files: not in a signal handler) */
static void
on_drain_signal(int sig)
{
	struct qs_dataplane *dp = drain_dp;

	if (dp == NULL)
		return;
	if (sig == SIGUSR1) {
		qs_dataplane_drain(dp);
	} else {
		qs_dataplane_reopen_logs(dp);
		reload_requested = true;
	}
}

/* The main lcore's periodic work, between keystrokes or sleeps. */
static void
tick(struct qs_dataplane *dp)
{
	char msg[QS_ERR_LEN];

	if (reload_requested) {
		reload_requested = false;
		options_reload(dp, msg, sizeof(msg));
	}
	qs_dataplane_tick(dp);
}

int
main(int argc, char **argv)
{
	static struct qs_config cfg;
	static struct qs_dataplane dp;
	struct app_opts app = {0};
	char err[QS_ERR_LEN];
	struct sigaction sa;
	int ret, exit_code = 1;

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "quicsteer: EAL initialisation failed: %s (see the "
			"EAL messages above; is another process using the same "
			"--file-prefix?)\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = on_drain_signal;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (options_parse(argc, argv, &cfg, &app, err, sizeof(err)) != 0) {
		fprintf(stderr, "quicsteer: %s\n", err);
		goto cleanup;
	}
	if (app.cmdline_file && access(app.cmdline_file, R_OK) != 0) {
		fprintf(stderr, "quicsteer: --cmdline-file '%s': %s\n",
			app.cmdline_file, strerror(errno));
		goto cleanup;
	}
	if (qs_dataplane_init(&dp, &cfg) != 0) {
		fprintf(stderr, "quicsteer: cannot start the dataplane (see above)\n");
		goto fini;
	}
	drain_dp = &dp;
	if (qs_telemetry_register(&dp) != 0)
		RTE_LOG(WARNING, QS_APP, "telemetry endpoints not registered\n");
	if (rte_pdump_init() != 0)
		RTE_LOG(WARNING, QS_APP, "pdump not initialised: %s\n",
			rte_strerror(rte_errno));
	if (qs_dataplane_launch(&dp) != 0)
		goto pdump;
	RTE_LOG(INFO, QS_APP, "running: %u workers; SIGINT or SIGTERM stops, "
		"SIGUSR1 drains, SIGHUP reloads and reopens the access log\n",
		dp.n_workers);

	if (app.cmdline_file != NULL && qs_cli_run_file(&dp, app.cmdline_file) != 0)
		RTE_LOG(ERR, QS_APP, "cannot run %s\n", app.cmdline_file);
	if (app.interactive && !qs_cli_quit_requested())
		qs_cli_interact(&dp, &stop_requested, tick);
	else
		while (!stop_requested && !qs_cli_quit_requested()) {
			usleep(WAIT_POLL_US);
			tick(&dp);
		}

	RTE_LOG(INFO, QS_APP, "stopping: GOAWAY to every connection, up to "
		"%u ms for responses in flight\n", cfg.shutdown_timeout_ms);
	qs_dataplane_stop(&dp);
	exit_code = 0;
pdump:
	drain_dp = NULL;
	rte_pdump_uninit();
fini:
	qs_dataplane_fini(&dp);
cleanup:
	rte_eal_cleanup();
	return exit_code;
}
