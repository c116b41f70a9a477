#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>

#include "options.h"

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

/* the arguments options_parse read, for options_reload */
static int saved_argc;
static char **saved_argv;

int
options_parse(int argc, char **argv, struct qs_config *cfg,
	      struct app_opts *app, char *err, size_t errlen)
{
	char why[QS_ERR_LEN];
	bool addr_seen = false;
	int opt;

	saved_argc = argc;
	saved_argv = argv;
	qs_config_defaults(cfg);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "ih", long_opts, NULL)) != -1) {
		if (opt == OPT_CONFIG) {
			if (qs_config_load(cfg, optarg, why, sizeof(why)) != 0) {
				snprintf(err, errlen, "config error: %s", why);
				return -1;
			}
		} else if (opt == '?') {
			if (opterr)
				usage(argv[0]);
			snprintf(err, errlen, "bad option (see above)");
			return -1;
		} else if (opt == 'h' && opterr) {
			usage(argv[0]);
			exit(0);
		}
	}
	optind = 1;
	while ((opt = getopt_long(argc, argv, "ih", long_opts, NULL)) != -1) {
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
			if (qs_config_set(cfg, overrides[i].section,
					  overrides[i].key, optarg, why,
					  sizeof(why)) != 0) {
				snprintf(err, errlen, "--%s: %s",
					 long_opts[opt - OPT_CONFIG].name, why);
				return -1;
			}
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (qs_config_validate(cfg, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "config error: %s%s%s",
			 cfg->file[0] ? cfg->file : "", cfg->file[0] ? ": " : "",
			 why);
		return -1;
	}
	return 0;
}

int
options_reload(struct qs_dataplane *dp, char *msg, size_t msglen)
{
	static struct qs_config next;   /* 30 KiB: not on the stack */
	struct app_opts app = {0};
	char err[QS_ERR_LEN];
	int opterr_was = opterr, rc;

	opterr = 0;                      /* the same arguments: no usage */
	rc = options_parse(saved_argc, saved_argv, &next, &app, err,
			   sizeof(err));
	opterr = opterr_was;
	if (rc != 0) {
		snprintf(msg, msglen, "reload refused: %s", err);
		qs_dataplane_reload_refused(dp, msg);
		return -1;
	}
	return qs_dataplane_reload(dp, &next, msg, msglen);
}
