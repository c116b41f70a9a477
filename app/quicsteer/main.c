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
#include "base/qs_config.h"
#include "dataplane/qs_dataplane.h"
#include "base/qs_log.h"
#include "dataplane/qs_telemetry.h"

#define WAIT_POLL_US 100000

static volatile bool stop_requested;
static struct qs_dataplane *volatile drain_dp;  /* set once signals can act */

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = true;
}

/* SIGUSR1: drain; SIGHUP: reopen the access log (both async-signal-safe) */
static void
on_drain_signal(int sig)
{
	struct qs_dataplane *dp = drain_dp;

	if (dp == NULL)
		return;
	if (sig == SIGUSR1)
		qs_dataplane_drain(dp);
	else
		qs_dataplane_reopen_logs(dp);
}

static void
usage(const char *prg)
{
	printf("usage: %s [EAL options] -- [options]\n"
	       "  --config FILE        INI configuration (see config/quicsteer.ini)\n"
	       "  --addr IP            listen address, IPv4 or IPv6; repeatable,\n"
	       "                       replaces the file's [listen] addr list\n"
	       "  --port N             UDP port (default 443)\n"
	       "  --cert FILE          TLS certificate chain (PEM)\n"
	       "  --key FILE           TLS private key (PEM)\n"
	       "  --docroot DIR        document root served over HTTP/3\n"
	       "  --steer cid|off      steer by connection ID (default) or not\n"
	       "  -i, --interactive    interactive prompt (type help)\n"
	       "  --cmdline-file FILE  run CLI commands from FILE after start\n"
	       "  -h, --help           this text\n", prg);
}

enum {
	OPT_CONFIG = 256, OPT_ADDR, OPT_PORT, OPT_CERT, OPT_KEY, OPT_DOCROOT,
	OPT_STEER, OPT_CMDLINE_FILE,
};

static const struct option long_opts[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"addr", required_argument, NULL, OPT_ADDR},
	{"port", required_argument, NULL, OPT_PORT},
	{"cert", required_argument, NULL, OPT_CERT},
	{"key", required_argument, NULL, OPT_KEY},
	{"docroot", required_argument, NULL, OPT_DOCROOT},
	{"steer", required_argument, NULL, OPT_STEER},
	{"interactive", no_argument, NULL, 'i'},
	{"cmdline-file", required_argument, NULL, OPT_CMDLINE_FILE},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* option -> [section] key it overrides */
static const struct {
	int opt;
	const char *section, *key;
} overrides[] = {
	{OPT_ADDR, "listen", "addr"},     {OPT_PORT, "listen", "port"},
	{OPT_CERT, "tls", "cert"},        {OPT_KEY, "tls", "key"},
	{OPT_DOCROOT, "http", "docroot"}, {OPT_STEER, "dataplane", "steer"},
};

struct app_opts {
	bool interactive;
	const char *cmdline_file;
};

/* The file first, then the overrides in command-line order. */
static int
parse_args(int argc, char **argv, struct qs_config *cfg, struct app_opts *app)
{
	char err[QS_ERR_LEN];
	bool addr_seen = false;
	int opt;

	qs_config_defaults(cfg);
	opterr = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "ih", long_opts, NULL)) != -1) {
		if (opt == OPT_CONFIG) {
			if (qs_config_load(cfg, optarg, err, sizeof(err)) != 0) {
				fprintf(stderr, "quicsteer: config error: %s\n", err);
				return -1;
			}
		} else if (opt == '?') {
			usage(argv[0]);
			return -1;
		} else if (opt == 'h') {
			usage(argv[0]);
			exit(0);
		}
	}
	optind = 1;
	while ((opt = getopt_long(argc, argv, "ih", long_opts, NULL)) != -1) {
		const char *name = NULL;

		switch (opt) {
		case 'i':
			app->interactive = true;
			continue;
		case OPT_CMDLINE_FILE:
			app->cmdline_file = optarg;
			continue;
		case OPT_ADDR:
			if (!addr_seen)
				qs_config_clear_addrs(cfg);
			addr_seen = true;
			break;
		default:
			break;
		}
		for (size_t i = 0; i < RTE_DIM(overrides); i++) {
			if (overrides[i].opt != opt)
				continue;
			name = long_opts[opt - OPT_CONFIG].name;
			if (qs_config_set(cfg, overrides[i].section,
					  overrides[i].key, optarg, err,
					  sizeof(err)) != 0) {
				fprintf(stderr, "quicsteer: --%s: %s\n", name, err);
				return -1;
			}
		}
	}
	if (optind < argc) {
		fprintf(stderr, "quicsteer: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (app->cmdline_file && access(app->cmdline_file, R_OK) != 0) {
		fprintf(stderr, "quicsteer: --cmdline-file '%s': %s\n",
			app->cmdline_file, strerror(errno));
		return -1;
	}
	if (qs_config_validate(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "quicsteer: config error: %s%s%s\n",
			cfg->file[0] ? cfg->file : "", cfg->file[0] ? ": " : "", err);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static struct qs_config cfg;
	static struct qs_dataplane dp;
	struct app_opts app = {0};
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

	if (parse_args(argc, argv, &cfg, &app) != 0)
		goto cleanup;
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
		"SIGUSR1 drains, SIGHUP reopens the access log\n",
		dp.n_workers);

	if (app.cmdline_file != NULL && qs_cli_run_file(&dp, app.cmdline_file) != 0)
		RTE_LOG(ERR, QS_APP, "cannot run %s\n", app.cmdline_file);
	if (app.interactive && !qs_cli_quit_requested())
		qs_cli_interact(&dp, &stop_requested);
	else
		while (!stop_requested && !qs_cli_quit_requested())
			usleep(WAIT_POLL_US);

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
