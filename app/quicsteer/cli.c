/* CLI commands, one block each: result struct, tokens, instance. The work
 * is done by <object>_<verb> functions; handlers only call them. */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmdline.h>
#include <cmdline_parse.h>
#include <cmdline_parse_string.h>
#include <cmdline_rdline.h>
#include <cmdline_socket.h>
#include <rte_log.h>

#include "cli.h"
#include "options.h"
#include "dataplane/qs_ctl.h"

#define PROMPT "quicsteer> "
#define POLL_MS 100

static struct qs_dataplane *cli_dp;
static bool quit_requested;

bool
qs_cli_quit_requested(void)
{
	return quit_requested;
}

/* ---- the work behind the commands ---- */

static void
lcores_show(FILE *out)
{
	struct qs_stats s;
	struct qs_load_view v;

	fprintf(out, "%-6s %-6s %12s %12s %12s %12s %12s %12s %12s %5s %5s %9s %9s\n",
		"worker", "lcore", "rx_packets", "tx_packets", "quic_rx",
		"quic_local", "fwd_out", "fwd_in", "fwd_dropped", "busy%",
		"all%", "rx-pps", "tx-pps");
	rte_spinlock_lock(&cli_dp->stats_lock);
	for (uint16_t i = 0; i < cli_dp->n_lcores; i++) {
		qs_dataplane_stats(cli_dp, i, true, &s);
		qs_lcore_load_read(cli_dp->lcores[i], &v);
		fprintf(out,
			"%-6s %-6u %12" PRIu64 " %12" PRIu64 " %12" PRIu64
			" %12" PRIu64 " %12" PRIu64 " %12" PRIu64 " %12" PRIu64
			" %5u %5u %9u %9u\n",
			cli_dp->lcores[i]->name, cli_dp->lcores[i]->lcore_id,
			s.rx_packets,
			s.tx_packets, s.quic_rx, s.quic_local,
			s.quic_forwarded_out, s.quic_forwarded_in,
			s.quic_forward_dropped, v.busy_pct, v.busy_pct_total,
			v.rx_pps, v.tx_pps);
	}
	rte_spinlock_unlock(&cli_dp->stats_lock);
	fprintf(out, "busy%%: share of the last second the lcore's loop found work "
		"(all%%: since start); pps: the last second\n");
}

static void
stats_show(FILE *out)
{
	struct qs_stats sum, one;

	memset(&sum, 0, sizeof(sum));
	rte_spinlock_lock(&cli_dp->stats_lock);
	for (uint16_t i = 0; i < cli_dp->n_lcores; i++) {
		qs_dataplane_stats(cli_dp, i, true, &one);
		qs_stats_add(&sum, &one);
	}
	rte_spinlock_unlock(&cli_dp->stats_lock);
	fprintf(out, "counters summed over %u workers and %u I/O lcores "
		"(since start or clear):\n", cli_dp->n_workers,
		cli_dp->n_lcores - cli_dp->n_workers);
	for (int i = 0; i < QS_CNT_MAX; i++)
		fprintf(out, "  %-36s %" PRIu64 "\n", qs_counter_names[i],
			qs_stats_get(&sum, (enum qs_counter_id)i));
}

static void
steering_show(FILE *out)
{
	struct qs_stats s;

	fprintf(out, "packets forwarded from lcore (row) to worker (column):\n");
	fprintf(out, "%8s", "from\\to");
	for (uint16_t to = 0; to < cli_dp->n_workers; to++)
		fprintf(out, " %12u", to);
	fprintf(out, "\n");
	rte_spinlock_lock(&cli_dp->stats_lock);
	for (uint16_t from = 0; from < cli_dp->n_lcores; from++) {
		qs_dataplane_stats(cli_dp, from, true, &s);
		fprintf(out, "%8s", cli_dp->lcores[from]->name);
		for (uint16_t to = 0; to < cli_dp->n_workers; to++)
			fprintf(out, " %12" PRIu64, s.forwarded[to]);
		fprintf(out, "\n");
	}
	rte_spinlock_unlock(&cli_dp->stats_lock);
}

static void
stats_clear(FILE *out)
{
	rte_spinlock_lock(&cli_dp->stats_lock);
	qs_dataplane_stats_clear(cli_dp);
	rte_spinlock_unlock(&cli_dp->stats_lock);
	for (uint16_t i = 0; i < cli_dp->n_ports; i++)
		qs_port_stats_clear(&cli_dp->ports[i]);
	fprintf(out, "statistics cleared (telemetry keeps counting since start)\n");
}

static void
drain_show(FILE *out)
{
	struct qs_drain_status st;

	rte_spinlock_lock(&cli_dp->stats_lock);
	qs_dataplane_drain_status(cli_dp, &st);
	rte_spinlock_unlock(&cli_dp->stats_lock);
	if (!st.draining)
		fprintf(out, "not draining: %" PRIu64 " connections\n", st.connections);
	else if (st.drained)
		fprintf(out, "drained: no connection left (%" PRIu64 " ms)\n",
			st.elapsed_ms);
	else
		fprintf(out, "draining: %" PRIu64 " connections left (%" PRIu64
			" ms)\n", st.connections, st.elapsed_ms);
}

static void
drain_start(FILE *out)
{
	if (qs_dataplane_drain(cli_dp))
		fprintf(out, "drain started: GOAWAY to every connection, new ones "
			"refused; `show drain` follows it\n");
	drain_show(out);
}

static void
reload_show(FILE *out)
{
	struct qs_reload_status st;

	qs_reload_status(&cli_dp->reload, &st);
	fprintf(out, "generation %" PRIu64 ": %" PRIu64 " reloads applied, %"
		PRIu64 " refused, %u older generations still in use\n"
		"last: %s\n", st.generation, st.reloads, st.refused,
		st.retired, st.last);
}

static void
reload_run(FILE *out)
{
	char msg[QS_ERR_LEN];

	options_reload(cli_dp, msg, sizeof(msg));
	fprintf(out, "%s\n", msg);
}

static int
log_level_parse(const char *s)
{
	static const char *const names[] = {"", "emerg", "alert", "crit", "err",
					    "warning", "notice", "info", "debug"};
	char *end;
	long v;

	for (int i = 1; i < (int)RTE_DIM(names); i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	v = strtol(s, &end, 10);
	if (*end == '\0' && v >= RTE_LOG_EMERG && v <= RTE_LOG_DEBUG)
		return (int)v;
	return -1;
}

static void
log_set(FILE *out, const char *type, const char *level_name)
{
	int level = log_level_parse(level_name);

	if (level < 0) {
		fprintf(out, "bad log level '%s' (emerg..debug or 1..8)\n",
			level_name);
		return;
	}
	if (strcmp(type, "global") == 0) {
		rte_log_set_global_level((uint32_t)level);
	} else if (rte_log_set_level_pattern(type, (uint32_t)level) < 0) {
		fprintf(out, "cannot set log level of '%s'\n", type);
		return;
	}
	fprintf(out, "log level of %s set to %s\n", type, level_name);
}

#define CTL_TIMEOUT_MS 1000
#define SHOW_CONNS_TOP 10

static void
conn_info_print(FILE *out, const struct qs_ctl_conn_info *ci)
{
	fprintf(out,
		"%-6u %-17s %-42s %-8s %8" PRIu64 " %8" PRIu64 " %12" PRIu64
		" %12" PRIu64 " %7u\n", ci->worker, ci->cid, ci->peer, ci->state,
		ci->age_ms, ci->srtt_us, ci->rx_bytes, ci->tx_bytes, ci->streams);
}

static void
conn_header_print(FILE *out)
{
	fprintf(out, "%-6s %-17s %-42s %-8s %8s %8s %12s %12s %7s\n", "worker",
		"cid", "peer", "state", "age_ms", "rtt_us", "rx_bytes",
		"tx_bytes", "streams");
}

/* Per-worker counts, then the busiest connections of all workers. */
static void
conns_show(FILE *out)
{
	struct qs_ctl_req q = {.type = QS_CTL_CONNS, .max = SHOW_CONNS_TOP};
	struct qs_ctl_req *answers[QS_MAX_WORKERS];
	struct qs_ctl_conn_info top[SHOW_CONNS_TOP];
	uint32_t n_top = 0, total = 0;

	qs_dataplane_ask_all(cli_dp, &q, CTL_TIMEOUT_MS, answers);
	fprintf(out, "connections per worker:");
	for (uint16_t w = 0; w < cli_dp->n_workers; w++) {
		struct qs_ctl_req *a = answers[w];

		if (a == NULL) {
			fprintf(out, " %u:?", w);
			continue;
		}
		fprintf(out, " %u:%u", w, a->n_conns);
		total += a->n_conns;
		for (uint32_t i = 0; i < a->n_out; i++) {
			const struct qs_ctl_conn_info *ci = &a->out[i];
			uint64_t bytes = ci->rx_bytes + ci->tx_bytes;
			uint32_t pos = n_top;

			while (pos > 0 && top[pos - 1].rx_bytes + top[pos - 1].tx_bytes < bytes)
				pos--;
			if (pos >= SHOW_CONNS_TOP)
				continue;
			if (n_top < SHOW_CONNS_TOP)
				n_top++;
			memmove(&top[pos + 1], &top[pos], (n_top - 1 - pos) * sizeof(top[0]));
			top[pos] = *ci;
		}
		qs_ctl_release(a);
	}
	fprintf(out, "  (total %u)\n", total);
	if (n_top == 0)
		return;
	fprintf(out, "busiest %u:\n", n_top);
	conn_header_print(out);
	for (uint32_t i = 0; i < n_top; i++)
		conn_info_print(out, &top[i]);
}

/* Asks every worker at once for the connection with CID hex (a CID that
 * names no owner, or another format's, is found wherever it is): its
 * owner's answer, to release with qs_ctl_release, or NULL after saying
 * why on out. */
static struct qs_ctl_req *
conn_find(FILE *out, const char *hex, enum qs_ctl_type type)
{
	struct qs_ctl_req q = {.type = type};
	struct qs_ctl_req *answers[QS_MAX_WORKERS];
	struct qs_ctl_req *found = NULL;
	int len = qs_ctl_parse_cid(hex, q.cid);

	if (len < 0) {
		fprintf(out, "'%s' is not a connection ID in hex\n", hex);
		return NULL;
	}
	q.cid_len = (uint8_t)len;
	qs_dataplane_ask_all(cli_dp, &q, CTL_TIMEOUT_MS, answers);
	for (uint16_t w = 0; w < cli_dp->n_workers; w++) {
		struct qs_ctl_req *a = answers[w];

		if (a != NULL && a->n_out == 1 && found == NULL)
			found = a;
		else if (a != NULL)
			qs_ctl_release(a);
	}
	if (found == NULL)
		fprintf(out, "no connection with CID %s\n", hex);
	return found;
}

static const char *
qlog_state_name(uint8_t state)
{
	static const char *const names[] = {
		[QS_QLOG_OFF] = "off", [QS_QLOG_ON] = "on",
		[QS_QLOG_CUT] = "truncated", [QS_QLOG_DONE] = "ended",
		[QS_QLOG_ARMED] = "armed (set qlog on starts it)",
	};

	return state < RTE_DIM(names) && names[state] != NULL ? names[state] : "?";
}

static void
conn_show(FILE *out, const char *hex)
{
	struct qs_ctl_req *a = conn_find(out, hex, QS_CTL_CONN);

	if (a == NULL)
		return;
	conn_header_print(out);
	conn_info_print(out, &a->out[0]);
	fprintf(out, "  server CIDs %u, peer addresses seen %u, qlog %s\n",
		a->out[0].n_cids, a->out[0].migrations_seen,
		qlog_state_name(a->out[0].qlog_state));
	fprintf(out, "  heap bytes: ngtcp2 %" PRIu64 ", nghttp3 %" PRIu64
		", quicsteer %" PRIu64 " (GnuTLS not counted)\n",
		a->out[0].mem_ngtcp2, a->out[0].mem_nghttp3,
		a->out[0].mem_quicsteer);
	qs_ctl_release(a);
}

/* ngtcp2 0.12 takes a connection's qlog writer only at its creation, so
 * only a connection created ARMED ([debug] qlog_live) can start later;
 * its owner switches it on (qs_conn_qlog_start). */
static void
qlog_set_on(FILE *out, const char *hex)
{
	const struct qs_config *cfg = cli_dp->cfg;
	const struct qs_ctl_conn_info *ci;
	struct qs_ctl_req *a;

	if (!cli_dp->qlog_on) {
		fprintf(out, "qlog is off: set [debug] qlog_dir and qlog_live = on "
			"(qlog_dir takes a restart)\n");
		return;
	}
	a = conn_find(out, hex, QS_CTL_QLOG_ON);
	if (a == NULL)
		return;
	ci = &a->out[0];
	if (a->qlog_started == 0 && ci->qlog_state == QS_QLOG_ON)
		fprintf(out, "qlog on for %s: %s/%s.sqlog, from now on\n", hex,
			cfg->qlog_dir, ci->cid);
	else if (a->qlog_started == 0)
		fprintf(out, "qlog for %s lost its first record: the qlog ring "
			"was full (qlog_dropped); %s/%s.sqlog.truncated\n", hex,
			cfg->qlog_dir, ci->cid);
	else if (ci->qlog_state == QS_QLOG_ON)
		fprintf(out, "qlog for %s is already on: %s/%s.sqlog\n", hex,
			cfg->qlog_dir, ci->cid);
	else if (ci->qlog_state == QS_QLOG_OFF)
		fprintf(out, "%s started without qlog and ngtcp2 0.12 cannot add "
			"it later: connections get it from their start (1 in "
			"qlog_sample = %u), or, with [debug] qlog_live = on "
			"(now %s; a reload changes it), when asked\n", hex,
			cfg->qlog_sample, cfg->qlog_live ? "on" : "off");
	else
		fprintf(out, "qlog for %s has %s: nothing more is written\n", hex,
			qlog_state_name(ci->qlog_state));
	qs_ctl_release(a);
}

/* cmdline's input is a terminal or a file; its output is always stdout */
static FILE *
cl_out(struct cmdline *cl __rte_unused)
{
	return stdout;
}

/* ---- show port info|stats all ---- */
struct cmd_show_port_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t port;
	cmdline_fixed_string_t what;
	cmdline_fixed_string_t all;
};

static void
cmd_show_port_parsed(void *parsed, struct cmdline *cl, void *data __rte_unused)
{
	struct cmd_show_port_result *res = parsed;
	FILE *out = cl_out(cl);

	for (uint16_t i = 0; i < cli_dp->n_ports; i++) {
		if (strcmp(res->what, "info") == 0)
			qs_port_info_show(&cli_dp->ports[i], out);
		else
			qs_port_stats_show(&cli_dp->ports[i], out);
	}
	fflush(out);
}

static cmdline_parse_token_string_t cmd_show_port_show =
	TOKEN_STRING_INITIALIZER(struct cmd_show_port_result, show, "show");
static cmdline_parse_token_string_t cmd_show_port_port =
	TOKEN_STRING_INITIALIZER(struct cmd_show_port_result, port, "port");
static cmdline_parse_token_string_t cmd_show_port_what =
	TOKEN_STRING_INITIALIZER(struct cmd_show_port_result, what, "info#stats");
static cmdline_parse_token_string_t cmd_show_port_all =
	TOKEN_STRING_INITIALIZER(struct cmd_show_port_result, all, "all");

static cmdline_parse_inst_t cmd_show_port = {
	.f = cmd_show_port_parsed,
	.help_str = "show port info|stats all: port details or NIC counters",
	.tokens = {(void *)&cmd_show_port_show, (void *)&cmd_show_port_port,
		   (void *)&cmd_show_port_what, (void *)&cmd_show_port_all, NULL},
};

/* ---- show lcores|steering|config|stats ---- */
struct cmd_show_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t what;
};

static void
cmd_show_parsed(void *parsed, struct cmdline *cl, void *data __rte_unused)
{
	struct cmd_show_result *res = parsed;
	FILE *out = cl_out(cl);

	if (strcmp(res->what, "lcores") == 0)
		lcores_show(out);
	else if (strcmp(res->what, "conns") == 0)
		conns_show(out);
	else if (strcmp(res->what, "steering") == 0)
		steering_show(out);
	else if (strcmp(res->what, "config") == 0)
		qs_config_dump(cli_dp->cfg, out);
	else if (strcmp(res->what, "drain") == 0)
		drain_show(out);
	else if (strcmp(res->what, "reload") == 0)
		reload_show(out);
	else
		stats_show(out);
	fflush(out);
}

static cmdline_parse_token_string_t cmd_show_show =
	TOKEN_STRING_INITIALIZER(struct cmd_show_result, show, "show");
static cmdline_parse_token_string_t cmd_show_what =
	TOKEN_STRING_INITIALIZER(struct cmd_show_result, what,
				 "lcores#steering#config#stats#conns#drain#reload");

static cmdline_parse_inst_t cmd_show = {
	.f = cmd_show_parsed,
	.help_str = "show lcores|steering|config|stats|conns|drain|reload: "
		    "per-worker counters, forwarding matrix, effective config, "
		    "summed counters, connections, drain progress, reloads",
	.tokens = {(void *)&cmd_show_show, (void *)&cmd_show_what, NULL},
};

/* ---- show conn <cid> ---- */
struct cmd_show_conn_result {
	cmdline_fixed_string_t show;
	cmdline_fixed_string_t conn;
	cmdline_fixed_string_t cid;
};

static void
cmd_show_conn_parsed(void *parsed, struct cmdline *cl, void *data __rte_unused)
{
	struct cmd_show_conn_result *res = parsed;
	FILE *out = cl_out(cl);

	conn_show(out, res->cid);
	fflush(out);
}

static cmdline_parse_token_string_t cmd_show_conn_show =
	TOKEN_STRING_INITIALIZER(struct cmd_show_conn_result, show, "show");
static cmdline_parse_token_string_t cmd_show_conn_conn =
	TOKEN_STRING_INITIALIZER(struct cmd_show_conn_result, conn, "conn");
static cmdline_parse_token_string_t cmd_show_conn_cid =
	TOKEN_STRING_INITIALIZER(struct cmd_show_conn_result, cid, NULL);

static cmdline_parse_inst_t cmd_show_conn = {
	.f = cmd_show_conn_parsed,
	.help_str = "show conn <cid hex>: one connection by any of its server CIDs",
	.tokens = {(void *)&cmd_show_conn_show, (void *)&cmd_show_conn_conn,
		   (void *)&cmd_show_conn_cid, NULL},
};

/* ---- clear stats ---- */
struct cmd_clear_stats_result {
	cmdline_fixed_string_t clear;
	cmdline_fixed_string_t stats;
};

static void
cmd_clear_stats_parsed(void *parsed __rte_unused, struct cmdline *cl,
		       void *data __rte_unused)
{
	FILE *out = cl_out(cl);

	stats_clear(out);
	fflush(out);
}

static cmdline_parse_token_string_t cmd_clear_stats_clear =
	TOKEN_STRING_INITIALIZER(struct cmd_clear_stats_result, clear, "clear");
static cmdline_parse_token_string_t cmd_clear_stats_stats =
	TOKEN_STRING_INITIALIZER(struct cmd_clear_stats_result, stats, "stats");

static cmdline_parse_inst_t cmd_clear_stats = {
	.f = cmd_clear_stats_parsed,
	.help_str = "clear stats: zero the CLI's view of lcore and port counters",
	.tokens = {(void *)&cmd_clear_stats_clear, (void *)&cmd_clear_stats_stats,
		   NULL},
};

/* ---- set log <type> <level> ---- */
struct cmd_set_log_result {
	cmdline_fixed_string_t set;
	cmdline_fixed_string_t log;
	cmdline_fixed_string_t type;
	cmdline_fixed_string_t level;
};

static void
cmd_set_log_parsed(void *parsed, struct cmdline *cl, void *data __rte_unused)
{
	struct cmd_set_log_result *res = parsed;
	FILE *out = cl_out(cl);

	log_set(out, res->type, res->level);
	fflush(out);
}

static cmdline_parse_token_string_t cmd_set_log_set =
	TOKEN_STRING_INITIALIZER(struct cmd_set_log_result, set, "set");
static cmdline_parse_token_string_t cmd_set_log_log =
	TOKEN_STRING_INITIALIZER(struct cmd_set_log_result, log, "log");
static cmdline_parse_token_string_t cmd_set_log_type =
	TOKEN_STRING_INITIALIZER(struct cmd_set_log_result, type, NULL);
static cmdline_parse_token_string_t cmd_set_log_level =
	TOKEN_STRING_INITIALIZER(struct cmd_set_log_result, level, NULL);

static cmdline_parse_inst_t cmd_set_log = {
	.f = cmd_set_log_parsed,
	.help_str = "set log global|<type pattern> <level>: e.g. "
		    "set log quicsteer.* debug",
	.tokens = {(void *)&cmd_set_log_set, (void *)&cmd_set_log_log,
		   (void *)&cmd_set_log_type, (void *)&cmd_set_log_level, NULL},
};

/* ---- set qlog on <cid> ---- */
struct cmd_set_qlog_result {
	cmdline_fixed_string_t set;
	cmdline_fixed_string_t qlog;
	cmdline_fixed_string_t on;
	cmdline_fixed_string_t cid;
};

static void
cmd_set_qlog_parsed(void *parsed, struct cmdline *cl, void *data __rte_unused)
{
	struct cmd_set_qlog_result *res = parsed;
	FILE *out = cl_out(cl);

	qlog_set_on(out, res->cid);
	fflush(out);
}

static cmdline_parse_token_string_t cmd_set_qlog_set =
	TOKEN_STRING_INITIALIZER(struct cmd_set_qlog_result, set, "set");
static cmdline_parse_token_string_t cmd_set_qlog_qlog =
	TOKEN_STRING_INITIALIZER(struct cmd_set_qlog_result, qlog, "qlog");
static cmdline_parse_token_string_t cmd_set_qlog_on =
	TOKEN_STRING_INITIALIZER(struct cmd_set_qlog_result, on, "on");
static cmdline_parse_token_string_t cmd_set_qlog_cid =
	TOKEN_STRING_INITIALIZER(struct cmd_set_qlog_result, cid, NULL);

static cmdline_parse_inst_t cmd_set_qlog = {
	.f = cmd_set_qlog_parsed,
	.help_str = "set qlog on <cid hex>: qlog of a live connection from now "
		    "on ([debug] qlog_live = on)",
	.tokens = {(void *)&cmd_set_qlog_set, (void *)&cmd_set_qlog_qlog,
		   (void *)&cmd_set_qlog_on, (void *)&cmd_set_qlog_cid, NULL},
};

/* ---- drain ---- */
struct cmd_drain_result {
	cmdline_fixed_string_t drain;
};

static void
cmd_drain_parsed(void *parsed __rte_unused, struct cmdline *cl,
		 void *data __rte_unused)
{
	FILE *out = cl_out(cl);

	drain_start(out);
	fflush(out);
}

static cmdline_parse_token_string_t cmd_drain_drain =
	TOKEN_STRING_INITIALIZER(struct cmd_drain_result, drain, "drain");

static cmdline_parse_inst_t cmd_drain = {
	.f = cmd_drain_parsed,
	.help_str = "drain: GOAWAY to every connection, refuse new ones, close "
		    "each when done; the node runs on (then quit)",
	.tokens = {(void *)&cmd_drain_drain, NULL},
};

/* ---- reload ---- */
struct cmd_reload_result {
	cmdline_fixed_string_t reload;
};

static void
cmd_reload_parsed(void *parsed __rte_unused, struct cmdline *cl,
		  void *data __rte_unused)
{
	FILE *out = cl_out(cl);

	reload_run(out);
	fflush(out);
}

static cmdline_parse_token_string_t cmd_reload_reload =
	TOKEN_STRING_INITIALIZER(struct cmd_reload_result, reload, "reload");

static cmdline_parse_inst_t cmd_reload = {
	.f = cmd_reload_parsed,
	.help_str = "reload: read the config file, TLS cert and key, and "
		    "docroot again (also SIGHUP)",
	.tokens = {(void *)&cmd_reload_reload, NULL},
};

/* ---- reopen ---- */
struct cmd_reopen_result {
	cmdline_fixed_string_t reopen;
};

static void
cmd_reopen_parsed(void *parsed __rte_unused, struct cmdline *cl,
		  void *data __rte_unused)
{
	FILE *out = cl_out(cl);

	if (!cli_dp->access_log_on) {
		fprintf(out, "no access log ([log] access_log is off)\n");
	} else {
		qs_dataplane_reopen_logs(cli_dp);
		fprintf(out, "access log %s: reopening\n", cli_dp->logwriter.path);
	}
	fflush(out);
}

static cmdline_parse_token_string_t cmd_reopen_reopen =
	TOKEN_STRING_INITIALIZER(struct cmd_reopen_result, reopen, "reopen");

static cmdline_parse_inst_t cmd_reopen = {
	.f = cmd_reopen_parsed,
	.help_str = "reopen: close and open the access log again (logrotate; "
		    "also SIGHUP)",
	.tokens = {(void *)&cmd_reopen_reopen, NULL},
};

/* ---- help ---- */
struct cmd_help_result {
	cmdline_fixed_string_t help;
};

static void
cmd_help_parsed(void *parsed __rte_unused, struct cmdline *cl,
		void *data __rte_unused)
{
	/* not cmdline_printf: a --cmdline-file cmdline has no output fd */
	FILE *out = cl_out(cl);

	fprintf(out,
		"show port info all     ports: driver, MAC, link, queues, offloads\n"
		"show port stats all    NIC counters per port\n"
		"show lcores            per-worker packet and steering counters\n"
		"show stats             every counter, summed over workers\n"
		"show steering          packets forwarded from worker i to j\n"
		"show conns             connections per worker and the busiest\n"
		"show conn <cid>        one connection (CID in hex)\n"
		"show config            the effective configuration\n"
		"show drain             drain progress: connections left\n"
		"show reload            generation, reloads, the last message\n"
		"clear stats            zero the CLI's view of the counters\n"
		"set log <type> <level> e.g. set log quicsteer.* debug\n"
		"set qlog on <cid>      qlog of that connection from now on\n"
		"                       (it started with [debug] qlog_live = on)\n"
		"drain                  GOAWAY everywhere, refuse new connections,\n"
		"                       close each when done (before a restart)\n"
		"reload                 read config, cert, key and docroot again;\n"
		"                       new connections and requests get them\n"
		"                       (SIGHUP: reload and reopen)\n"
		"reopen                 reopen the access log (logrotate; SIGHUP)\n"
		"quit                   stop the dataplane and exit\n");
	fflush(out);
}

static cmdline_parse_token_string_t cmd_help_help =
	TOKEN_STRING_INITIALIZER(struct cmd_help_result, help, "help");

static cmdline_parse_inst_t cmd_help = {
	.f = cmd_help_parsed,
	.help_str = "help: list the commands",
	.tokens = {(void *)&cmd_help_help, NULL},
};

/* ---- quit ---- */
struct cmd_quit_result {
	cmdline_fixed_string_t quit;
};

static void
cmd_quit_parsed(void *parsed __rte_unused, struct cmdline *cl,
		void *data __rte_unused)
{
	quit_requested = true;
	cmdline_quit(cl);
}

static cmdline_parse_token_string_t cmd_quit_quit =
	TOKEN_STRING_INITIALIZER(struct cmd_quit_result, quit, "quit");

static cmdline_parse_inst_t cmd_quit = {
	.f = cmd_quit_parsed,
	.help_str = "quit: stop the dataplane and exit",
	.tokens = {(void *)&cmd_quit_quit, NULL},
};

static cmdline_parse_ctx_t main_ctx[] = {
	(cmdline_parse_inst_t *)&cmd_show_port,
	(cmdline_parse_inst_t *)&cmd_show,
	(cmdline_parse_inst_t *)&cmd_show_conn,
	(cmdline_parse_inst_t *)&cmd_clear_stats,
	(cmdline_parse_inst_t *)&cmd_set_log,
	(cmdline_parse_inst_t *)&cmd_set_qlog,
	(cmdline_parse_inst_t *)&cmd_drain,
	(cmdline_parse_inst_t *)&cmd_reload,
	(cmdline_parse_inst_t *)&cmd_reopen,
	(cmdline_parse_inst_t *)&cmd_help,
	(cmdline_parse_inst_t *)&cmd_quit,
	NULL,
};

int
qs_cli_run_file(struct qs_dataplane *dp, const char *path)
{
	struct cmdline *cl;

	cli_dp = dp;
	cl = cmdline_file_new(main_ctx, PROMPT, path);
	if (cl == NULL)
		return -1;
	cmdline_interact(cl);
	cmdline_free(cl);
	fflush(stdout);
	return 0;
}

void
qs_cli_interact(struct qs_dataplane *dp, volatile bool *stop,
		void (*tick)(struct qs_dataplane *dp))
{
	struct cmdline *cl;
	struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};

	cli_dp = dp;
	cl = cmdline_stdin_new(main_ctx, PROMPT);
	if (cl == NULL)
		return;
	/* poll so a signal can end the prompt between keystrokes */
	while (!*stop && !quit_requested) {
		int rc = poll(&pfd, 1, POLL_MS);

		tick(dp);
		if (rc <= 0)
			continue;
		if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL)) {
			if (!(pfd.revents & POLLIN))
				break;
		}
		if (cmdline_poll(cl) == RDLINE_EXITED)
			break;
	}
	cmdline_stdin_exit(cl);
}
