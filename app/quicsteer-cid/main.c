/* quicsteer-cid: the operator's tool for quicsteer's QUIC-LB connection IDs
 * (draft-ietf-quic-load-balancers-21): mints a CID as a node would, reads
 * one back, and writes the nftables map (or a whole table) that routes a
 * fleet of nodes by the server ID in the destination CID.
 *
 *   quicsteer-cid --config node.ini encode --worker 3
 *   quicsteer-cid --node-id 2 decode 07c4605e4504cc4f --json
 *   quicsteer-cid nft-map --node 1=198.18.11.1 --node 2=198.18.12.1 \
 *       --table quicsteer_lb --service 198.18.0.1:443 > lb.nft
 *
 * The [quic_lb] settings, their defaults and their checks are the server's
 * (base/qs_config.h, steer/qs_cid.h): a node's config file gives this tool
 * the node's own configuration. Exit status: 0 done, 1 the CID is not of
 * this configuration (decode), 2 bad usage or input. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/qs_config.h"
#include "base/qs_random.h"
#include "steer/qs_cid.h"
#include "steer/qs_quic_lb.h"

#define PROG "quicsteer-cid"
#define EXIT_NOT_OURS 1
#define EXIT_USAGE 2

#define MAX_NODES 1024          /* --node options to nft-map */
#define MAX_OVERRIDES 64        /* [quic_lb] options on one command line */
#define NAME_MAX_LEN 64         /* nftables table and map names we write */
#define DEFAULT_MAP "quicsteer_nodes"
#define UNROUTABLE_COUNTER "quicsteer_unroutable"
#define JHASH_SEED 0x51c1
#define QUIC_V1 0x00000001u

/* Where nftables finds the parts of a QUIC packet, in bits from the start
 * of the UDP header (@th): the UDP header is 8 bytes, then the first
 * octet. Short header: the DCID follows at once. Long header: 4 bytes of
 * version, one of DCID length, then the DCID. The server ID follows the
 * DCID's first octet (config id and length). */
#define TH_FIRST_OCTET 64
#define TH_VERSION 72
#define TH_SHORT_DCID 72
#define TH_LONG_DCID_LEN 104
#define TH_LONG_DCID 112
#define TH_SERVER_ID(dcid) ((dcid) + 8)

enum command { CMD_ENCODE, CMD_DECODE, CMD_NFT_MAP, N_COMMANDS };

static const char *const command_names[N_COMMANDS] = {
	"encode", "decode", "nft-map",
};

#define FOR_ALL ((1u << N_COMMANDS) - 1)
#define FOR(cmd) (1u << (cmd))

enum {
	OPT_CONFIG = 256, OPT_CONFIG_ID, OPT_SERVER_ID_LEN, OPT_NONCE_LEN,
	OPT_KEY, OPT_NODE_ID, OPT_SELF_DESCRIBING, OPT_SERVER_ID, OPT_WORKER,
	OPT_NONCE, OPT_JSON, OPT_NODE, OPT_MAP, OPT_TABLE, OPT_SERVICE,
	OPT_IN_SERVICE, OPT_END,
};

static const struct option long_opts[] = {
	{"config", required_argument, NULL, OPT_CONFIG},
	{"config-id", required_argument, NULL, OPT_CONFIG_ID},
	{"server-id-len", required_argument, NULL, OPT_SERVER_ID_LEN},
	{"nonce-len", required_argument, NULL, OPT_NONCE_LEN},
	{"key", required_argument, NULL, OPT_KEY},
	{"node-id", required_argument, NULL, OPT_NODE_ID},
	{"self-describing-length", required_argument, NULL, OPT_SELF_DESCRIBING},
	{"server-id", required_argument, NULL, OPT_SERVER_ID},
	{"worker", required_argument, NULL, OPT_WORKER},
	{"nonce", required_argument, NULL, OPT_NONCE},
	{"json", no_argument, NULL, OPT_JSON},
	{"node", required_argument, NULL, OPT_NODE},
	{"map", required_argument, NULL, OPT_MAP},
	{"table", required_argument, NULL, OPT_TABLE},
	{"service", required_argument, NULL, OPT_SERVICE},
	{"in-service", required_argument, NULL, OPT_IN_SERVICE},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Per option (indexed by id - OPT_CONFIG): the commands that take it, and
 * the [quic_lb] key it overrides (NULL: none). */
static const struct {
	unsigned int commands;
	const char *key;
} opt_info[OPT_END - OPT_CONFIG] = {
	[OPT_CONFIG - OPT_CONFIG] = {FOR_ALL, NULL},
	[OPT_CONFIG_ID - OPT_CONFIG] = {FOR_ALL, "config_id"},
	[OPT_SERVER_ID_LEN - OPT_CONFIG] = {FOR_ALL, "server_id_len"},
	[OPT_NONCE_LEN - OPT_CONFIG] = {FOR_ALL, "nonce_len"},
	[OPT_KEY - OPT_CONFIG] = {FOR_ALL, "key"},
	[OPT_NODE_ID - OPT_CONFIG] = {FOR_ALL, "node_id"},
	[OPT_SELF_DESCRIBING - OPT_CONFIG] = {FOR_ALL, "self_describing_length"},
	[OPT_SERVER_ID - OPT_CONFIG] = {FOR(CMD_ENCODE), NULL},
	[OPT_WORKER - OPT_CONFIG] = {FOR(CMD_ENCODE), NULL},
	[OPT_NONCE - OPT_CONFIG] = {FOR(CMD_ENCODE), NULL},
	[OPT_JSON - OPT_CONFIG] = {FOR(CMD_DECODE), NULL},
	[OPT_NODE - OPT_CONFIG] = {FOR(CMD_NFT_MAP), NULL},
	[OPT_MAP - OPT_CONFIG] = {FOR(CMD_NFT_MAP), NULL},
	[OPT_TABLE - OPT_CONFIG] = {FOR(CMD_NFT_MAP), NULL},
	[OPT_SERVICE - OPT_CONFIG] = {FOR(CMD_NFT_MAP), NULL},
	[OPT_IN_SERVICE - OPT_CONFIG] = {FOR(CMD_NFT_MAP), NULL},
};

/* An IPv4 or IPv6 address */
struct addr {
	int family;             /* AF_INET, AF_INET6 */
	uint8_t bytes[16];
};

struct fleet_node {
	uint64_t id;
	struct addr addr;
	bool in_service;
};

/* Everything the command line and the configuration say; static, since
 * struct qs_config is large. */
static struct {
	enum command cmd;
	const char *config_file;
	struct {
		int opt;
		const char *value;
	} overrides[MAX_OVERRIDES];
	unsigned int n_overrides;
	unsigned int given;     /* bit (opt - OPT_CONFIG): the option was given */
	const char *arg;        /* decode: the CID */

	struct qs_config cfg;
	struct qs_quic_lb_config lb;
	bool lb_set_up;
	unsigned int node_len;
	uint8_t node[QS_QUIC_LB_SERVER_ID_MAX];

	/* encode */
	const char *server_id_hex, *worker_text, *nonce_hex;
	/* decode */
	bool json;
	/* nft-map */
	const char *node_texts[MAX_NODES];
	unsigned int n_nodes;
	struct fleet_node nodes[MAX_NODES];
	const char *map_name, *table_name, *service_text, *in_service_text;
} tool;

static void
usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " [CONFIGURATION] COMMAND [OPTIONS]\n"
"Mints, reads and routes quicsteer's QUIC-LB connection IDs\n"
"(draft-ietf-quic-load-balancers-21): the server ID of a CID is the node\n"
"id ([quic_lb] node_id, server_id_len - 1 bytes, big-endian) then the\n"
"worker (one byte).\n"
"\n"
"Configuration ([quic_lb] of the server's INI file; its defaults and\n"
"checks; the options override the file):\n"
"  --config FILE                 read [quic_lb] from a quicsteer config file\n"
"  --config-id N                 config_id, 0..6 (default 0)\n"
"  --server-id-len N             server_id_len, 1..15 bytes (default 2)\n"
"  --nonce-len N                 nonce_len, 4..18 bytes (default 8);\n"
"                                server_id_len + nonce_len <= 19\n"
"  --key HEX                     key: 32 hex digits (AES-128: single-pass\n"
"                                when server ID + nonce = 16 bytes, four-pass\n"
"                                otherwise); \"\" or unset: plaintext\n"
"  --node-id N                   node_id, this node (default 0); must fit\n"
"                                server_id_len - 1 bytes\n"
"  --self-describing-length on|off\n"
"                                the first octet's 5 low bits say the CID\n"
"                                length (default on); off: random\n"
"\n"
"Commands:\n"
"  encode (--server-id HEX | --worker N) [--nonce HEX]\n"
"        print a CID in lowercase hex. --server-id: server_id_len bytes;\n"
"        --worker N (0..255): the server ID this node (node_id) mints for\n"
"        worker N. --nonce: nonce_len bytes, and 0 in the first octet's low\n"
"        bits when self_describing_length is off (reproducible output);\n"
"        without it both are random (a CSPRNG, as the server's).\n"
"  decode CIDHEX [--json]\n"
"        print config_id, server_id, node, worker and nonce; --json: one\n"
"        object {\"config_id\": int, \"server_id\": hex, \"node\": int,\n"
"        \"worker\": int, \"nonce\": hex}. Exit 1 when the CID is not of this\n"
"        configuration (length, config id, the unroutable 0b111, the\n"
"        self-described length).\n"
"  nft-map --node ID=ADDR [--node ID=ADDR ...] [--map NAME]\n"
"          [--table NAME --service ADDR:PORT [--in-service ID,ID,...]]\n"
"        print an nftables map from node id (the server ID's first\n"
"        server_id_len - 1 bytes) to the node's address (all IPv4 or all\n"
"        IPv6), named NAME (default " DEFAULT_MAP "), keyed at the\n"
"        server ID of a short header's DCID (@th,80) and of a Handshake's\n"
"        (@th,120). Plaintext configurations only: a key hides the server\n"
"        ID. With --table: a whole table (load with nft -f; it replaces\n"
"        itself atomically) that sends UDP to the service (IPv4\n"
"        A.B.C.D:PORT, IPv6 [ADDR]:PORT) by CID, Initials, 0-RTT and other\n"
"        QUIC versions by a 4-tuple hash over the nodes in service\n"
"        (--in-service, default all), drops the rest, and gives the nodes'\n"
"        replies the service address; stateless (no conntrack): each\n"
"        datagram goes by its own header.\n"
"\n"
"  -h, --help                    this text\n"
"Exit status: 0 done, 1 the CID is not of this configuration, 2 bad usage\n"
"or input.\n");
}

/* The one line an error gets, then the exit status that says its kind */
static void __attribute__((format(printf, 2, 0), noreturn))
vfail(int status, const char *fmt, va_list ap)
{
	fputs(PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	exit(status);
}

static void __attribute__((format(printf, 1, 2), noreturn))
fail_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(EXIT_USAGE, fmt, ap);
}

static void __attribute__((format(printf, 1, 2), noreturn))
fail_not_ours(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(EXIT_NOT_OURS, fmt, ap);
}

/* ---- input ---- */

/* The bytes of hex digits text names (what: for the message); refuses an
 * empty, odd or non-hex text. */
static size_t
hex_len(const char *what, const char *text)
{
	size_t n = strlen(text);

	if (n == 0)
		fail_usage("%s: empty (hex digits, two a byte)", what);
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)text[i]))
			fail_usage("%s: '%s' is not hex ('%c' at position %zu)",
				   what, text, isprint((unsigned char)text[i])
				   ? text[i] : '?', i + 1);
	if (n % 2 != 0)
		fail_usage("%s: '%s' has an odd number of hex digits (two a "
			   "byte)", what, text);
	return n / 2;
}

/* Valid hex (hex_len) to bytes. */
static void
hex_bytes(const char *text, uint8_t *out)
{
	for (size_t i = 0; text[2 * i] != '\0'; i++) {
		char two[3] = {text[2 * i], text[2 * i + 1], '\0'};

		out[i] = (uint8_t)strtoul(two, NULL, 16);
	}
}

static void
print_hex(FILE *f, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", b[i]);
}

/* A decimal or 0x-hex number up to max: no sign, no space; -1 if not. */
static int
parse_number(const char *text, uint64_t max, uint64_t *out)
{
	const char *digits = text;
	unsigned long long v;
	int base = 10;
	char *end;

	if (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
		base = 16;
		digits = text + 2;
	}
	if (digits[0] == '\0')
		return -1;
	for (const char *p = digits; *p != '\0'; p++)
		if (base == 16 ? !isxdigit((unsigned char)*p)
			       : !isdigit((unsigned char)*p))
			return -1;
	errno = 0;
	v = strtoull(digits, &end, base);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_addr(const char *text, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, text, a->bytes) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, a->bytes) == 1) {
		a->family = AF_INET6;
		return 0;
	}
	return -1;
}

static const char *
addr_text(const struct addr *a, char *buf, size_t len)
{
	return inet_ntop(a->family, a->bytes, buf, (socklen_t)len);
}

/* A name nftables takes unquoted: a letter, then letters, digits, '_'. */
static void
check_name(const char *what, const char *name)
{
	size_t n = strlen(name);
	bool ok = n > 0 && n <= NAME_MAX_LEN && isalpha((unsigned char)name[0]);

	for (size_t i = 0; ok && i < n; i++)
		ok = isalnum((unsigned char)name[i]) || name[i] == '_';
	if (!ok)
		fail_usage("%s '%s': a name is a letter, then up to %d letters, "
			   "digits or '_'", what, name, NAME_MAX_LEN - 1);
}

/* ---- command line and configuration ---- */

static void
parse_command_line(int argc, char **argv)
{
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			exit(0);
		}
		if (opt == ':')
			fail_usage("option '%s' needs a value", argv[optind - 1]);
		if (opt == '?') {
			if (optopt != 0)
				fail_usage("unknown option '-%c' (see --help)", optopt);
			fail_usage("unknown option '%s' (see --help)",
				   argv[optind - 1]);
		}
		tool.given |= 1u << (opt - OPT_CONFIG);
		if (opt_info[opt - OPT_CONFIG].key != NULL) {
			if (tool.n_overrides == MAX_OVERRIDES)
				fail_usage("more than %d configuration options",
					   MAX_OVERRIDES);
			tool.overrides[tool.n_overrides].opt = opt;
			tool.overrides[tool.n_overrides++].value = optarg;
			continue;
		}
		switch (opt) {
		case OPT_CONFIG:
			if (tool.config_file != NULL)
				fail_usage("--config given twice");
			tool.config_file = optarg;
			break;
		case OPT_SERVER_ID:
			tool.server_id_hex = optarg;
			break;
		case OPT_WORKER:
			tool.worker_text = optarg;
			break;
		case OPT_NONCE:
			tool.nonce_hex = optarg;
			break;
		case OPT_JSON:
			tool.json = true;
			break;
		case OPT_NODE:
			if (tool.n_nodes == MAX_NODES)
				fail_usage("--node: more than %d nodes", MAX_NODES);
			tool.node_texts[tool.n_nodes++] = optarg;
			break;
		case OPT_MAP:
			tool.map_name = optarg;
			break;
		case OPT_TABLE:
			tool.table_name = optarg;
			break;
		case OPT_SERVICE:
			tool.service_text = optarg;
			break;
		case OPT_IN_SERVICE:
			tool.in_service_text = optarg;
			break;
		default:
			break;
		}
	}

	if (optind >= argc)
		fail_usage("no command: encode, decode or nft-map (see --help)");
	for (tool.cmd = 0; tool.cmd < N_COMMANDS; tool.cmd++)
		if (strcmp(argv[optind], command_names[tool.cmd]) == 0)
			break;
	if (tool.cmd == N_COMMANDS)
		fail_usage("unknown command '%s' (known: encode, decode, nft-map)",
			   argv[optind]);
	optind++;
	for (int o = OPT_CONFIG; o < OPT_END; o++) {
		if (!(tool.given & (1u << (o - OPT_CONFIG))) ||
		    (opt_info[o - OPT_CONFIG].commands & FOR(tool.cmd)))
			continue;
		for (unsigned int c = 0; c < N_COMMANDS; c++)
			if (opt_info[o - OPT_CONFIG].commands & FOR(c))
				fail_usage("--%s is an option of %s, not of %s",
					   long_opts[o - OPT_CONFIG].name,
					   command_names[c],
					   command_names[tool.cmd]);
	}
	if (tool.cmd == CMD_DECODE) {
		if (optind >= argc)
			fail_usage("decode: which CID? (decode CIDHEX)");
		tool.arg = argv[optind++];
	}
	if (optind < argc)
		fail_usage("%s: unexpected argument '%s'",
			   command_names[tool.cmd], argv[optind]);
}

/* The server's defaults, the file, then the options in command-line order;
 * checked and set up as the server does (one slot: one thread). */
static void
load_configuration(void)
{
	const struct qs_quic_lb_settings *s = &tool.cfg.quic_lb;
	char err[QS_ERR_LEN];

	qs_config_defaults(&tool.cfg);
	if (tool.config_file != NULL &&
	    qs_config_load(&tool.cfg, tool.config_file, err, sizeof(err)) != 0)
		fail_usage("config error: %s", err);
	for (unsigned int i = 0; i < tool.n_overrides; i++) {
		int o = tool.overrides[i].opt;
		const char *key = opt_info[o - OPT_CONFIG].key;

		if (qs_config_set(&tool.cfg, "quic_lb", key,
				  tool.overrides[i].value, err, sizeof(err)) != 0)
			fail_usage("--%s: [quic_lb] %s: %s",
				   long_opts[o - OPT_CONFIG].name, key, err);
	}
	if (qs_cid_quic_lb_config_from_settings(&tool.lb, s, 1, err,
						sizeof(err)) != 0)
		fail_usage("config error: %s%s%s", tool.config_file != NULL ?
			   tool.config_file : "", tool.config_file != NULL ?
			   ": " : "", err);
	tool.lb_set_up = true;
	tool.node_len = qs_cid_quic_lb_node_len(s->server_id_len);
	qs_cid_quic_lb_node(s->node_id, tool.node_len, tool.node);
}

/* ---- encode ---- */

static int
cmd_encode(void)
{
	const struct qs_quic_lb_config *lb = &tool.lb;
	uint8_t server_id[QS_QUIC_LB_SERVER_ID_MAX];
	uint8_t nonce[QS_QUIC_LB_NONCE_MAX];
	uint8_t cid[QS_QUIC_LB_CID_MAX];
	uint8_t random_bits = 0;

	if ((tool.server_id_hex != NULL) == (tool.worker_text != NULL))
		fail_usage("encode: give --server-id HEX or --worker N (one of "
			   "them)");
	if (tool.server_id_hex != NULL) {
		size_t n = hex_len("--server-id", tool.server_id_hex);

		if (n != lb->server_id_len)
			fail_usage("--server-id: %zu byte%s, but server_id_len is "
				   "%u", n, n == 1 ? "" : "s", lb->server_id_len);
		hex_bytes(tool.server_id_hex, server_id);
	} else {
		uint64_t worker;

		if (parse_number(tool.worker_text,
				 QS_CID_QUIC_LB_MAX_WORKERS - 1, &worker) != 0)
			fail_usage("--worker: '%s' is not a worker index, 0 to %d "
				   "(one byte of the server ID)", tool.worker_text,
				   QS_CID_QUIC_LB_MAX_WORKERS - 1);
		qs_cid_quic_lb_server_id(tool.node, tool.node_len,
					 (uint16_t)worker, server_id);
	}
	if (tool.nonce_hex != NULL) {
		size_t n = hex_len("--nonce", tool.nonce_hex);

		if (n != lb->nonce_len)
			fail_usage("--nonce: %zu byte%s, but nonce_len is %u", n,
				   n == 1 ? "" : "s", lb->nonce_len);
		hex_bytes(tool.nonce_hex, nonce);
	} else {
		qs_random_bytes(nonce, lb->nonce_len);
		qs_random_bytes(&random_bits, 1);
	}
	if (qs_quic_lb_encode(lb, 0, server_id, nonce, random_bits, cid) != 0) {
		fprintf(stderr, PROG ": encode: the cipher failed\n");
		return 1;
	}
	print_hex(stdout, cid, lb->cid_len);
	putchar('\n');
	return 0;
}

/* ---- decode ---- */

/* A big-endian number of any length in decimal (a node of more than 8
 * bytes may hold more than 64 bits). */
static void
print_decimal(FILE *f, const uint8_t *be, size_t len)
{
	uint8_t n[QS_QUIC_LB_SERVER_ID_MAX];
	char digits[3 * QS_QUIC_LB_SERVER_ID_MAX + 1];
	size_t nd = 0;
	bool more;

	memcpy(n, be, len);
	do {
		unsigned int rem = 0;

		more = false;
		for (size_t i = 0; i < len; i++) {
			unsigned int cur = rem * 256 + n[i];

			n[i] = (uint8_t)(cur / 10);
			rem = cur % 10;
			more |= n[i] != 0;
		}
		digits[nd++] = (char)('0' + rem);
	} while (more);
	while (nd > 0)
		fputc(digits[--nd], f);
}

/* Why cid (of the right length) does not decode. */
static void __attribute__((noreturn))
explain_not_ours(const uint8_t *cid)
{
	const struct qs_quic_lb_config *lb = &tool.lb;
	unsigned int config_id = qs_quic_lb_cid_config_id(cid);
	unsigned int described = (cid[0] & 0x1fu) + 1;

	if (config_id == QS_QUIC_LB_CONFIG_ID_UNROUTABLE)
		fail_not_ours("CID %s is unroutable (config id 0b111, which no "
			      "server mints)", tool.arg);
	if (config_id != lb->config_id)
		fail_not_ours("CID %s is of config id %u, not this "
			      "configuration's %u", tool.arg, config_id,
			      lb->config_id);
	if (lb->encode_len && described != lb->cid_len)
		fail_not_ours("CID %s describes its length as %u bytes in its "
			      "first octet, but it is %u (self_describing_length "
			      "on)", tool.arg, described, lb->cid_len);
	fail_not_ours("CID %s does not decode (the cipher failed)", tool.arg);
}

static int
cmd_decode(void)
{
	const struct qs_quic_lb_config *lb = &tool.lb;
	uint8_t server_id[QS_QUIC_LB_SERVER_ID_MAX];
	uint8_t nonce[QS_QUIC_LB_NONCE_MAX];
	uint8_t cid[QS_QUIC_LB_CID_MAX];
	size_t n = hex_len("CID", tool.arg);
	const char *const *names;
	unsigned int worker;
	static const char *const text_names[] = {
		"config_id: ", "\nserver_id: ", "\nnode: ", "\nworker: ",
		"\nnonce: ", "\n",
	};
	static const char *const json_names[] = {
		"{\"config_id\": ", ", \"server_id\": \"", "\", \"node\": ",
		", \"worker\": ", ", \"nonce\": \"", "\"}\n",
	};

	if (n != lb->cid_len)
		fail_not_ours("CID %s is %zu bytes, not of this configuration: "
			      "its CIDs are %u (1 + server_id_len %u + nonce_len "
			      "%u)", tool.arg, n, lb->cid_len, lb->server_id_len,
			      lb->nonce_len);
	hex_bytes(tool.arg, cid);
	if (qs_quic_lb_decode(lb, 0, cid, n, server_id, nonce) != 0)
		explain_not_ours(cid);
	worker = qs_cid_quic_lb_worker(server_id, tool.node_len);

	names = tool.json ? json_names : text_names;
	printf("%s%u%s", names[0], lb->config_id, names[1]);
	print_hex(stdout, server_id, lb->server_id_len);
	fputs(names[2], stdout);
	print_decimal(stdout, server_id, tool.node_len);
	printf("%s%u%s", names[3], worker, names[4]);
	print_hex(stdout, nonce, lb->nonce_len);
	fputs(names[5], stdout);
	return 0;
}

/* ---- nft-map ---- */

/* The node of id among the first n parsed */
static struct fleet_node *
find_node(uint64_t id, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (tool.nodes[i].id == id)
			return &tool.nodes[i];
	return NULL;
}

/* --node ID=ADDR, every one: ids fit the node bytes and are unique, the
 * addresses of one family; sorted by id. */
static void
parse_nodes(void)
{
	for (unsigned int i = 0; i < tool.n_nodes; i++) {
		const char *text = tool.node_texts[i];
		const char *eq = strchr(text, '=');
		struct fleet_node nd = {.in_service = true};
		char id_text[32];
		unsigned int j;

		if (eq == NULL || (size_t)(eq - text) >= sizeof(id_text))
			fail_usage("--node '%s': expected ID=ADDR", text);
		snprintf(id_text, sizeof(id_text), "%.*s", (int)(eq - text), text);
		if (parse_number(id_text, UINT64_MAX, &nd.id) != 0)
			fail_usage("--node '%s': '%s' is not a node id", text,
				   id_text);
		if (!qs_cid_quic_lb_node_fits(nd.id, tool.node_len))
			fail_usage("--node '%s': node id %" PRIu64 " does not fit "
				   "the %u byte%s server_id_len %u leaves it",
				   text, nd.id, tool.node_len,
				   tool.node_len == 1 ? "" : "s",
				   tool.lb.server_id_len);
		if (parse_addr(eq + 1, &nd.addr) != 0)
			fail_usage("--node '%s': '%s' is not an IPv4 or IPv6 "
				   "address", text, eq + 1);
		if (find_node(nd.id, i) != NULL)
			fail_usage("--node: node id %" PRIu64 " given twice", nd.id);
		if (i > 0 && nd.addr.family != tool.nodes[0].addr.family)
			fail_usage("--node '%s': the nodes mix IPv4 and IPv6 (one "
				   "map is of one family)", text);
		/* insertion: keep nodes[0..i] sorted by id */
		for (j = i; j > 0 && tool.nodes[j - 1].id > nd.id; j--)
			tool.nodes[j] = tool.nodes[j - 1];
		tool.nodes[j] = nd;
	}
}

/* --service ADDR:PORT (IPv6: [ADDR]:PORT) */
static void
parse_service(struct addr *a, uint16_t *port)
{
	const char *text = tool.service_text;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	uint64_t p;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':')
			fail_usage("--service '%s': expected [IPV6]:PORT", text);
		colon = close + 1;
		snprintf(host, sizeof(host), "%.*s", (int)(close - text - 1),
			 text + 1);
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL)
			fail_usage("--service '%s': expected ADDR:PORT", text);
		if (memchr(text, ':', (size_t)(colon - text)) != NULL)
			fail_usage("--service '%s': write an IPv6 service as "
				   "[ADDR]:PORT", text);
		snprintf(host, sizeof(host), "%.*s", (int)(colon - text), text);
	}
	if (parse_addr(host, a) != 0 || (text[0] == '[') != (a->family == AF_INET6))
		fail_usage("--service '%s': '%s' is not an %s address", text,
			   host, text[0] == '[' ? "IPv6" : "IPv4");
	if (parse_number(colon + 1, 65535, &p) != 0 || p == 0)
		fail_usage("--service '%s': the port is 1 to 65535", text);
	*port = (uint16_t)p;
}

/* --in-service ID,ID,...: nodes given with --node; the others out */
static void
parse_in_service(void)
{
	char list[4096];
	char *save = NULL;
	unsigned int n = 0;

	if (strlen(tool.in_service_text) >= sizeof(list))
		fail_usage("--in-service: list too long");
	snprintf(list, sizeof(list), "%s", tool.in_service_text);
	for (unsigned int i = 0; i < tool.n_nodes; i++)
		tool.nodes[i].in_service = false;
	for (char *id = strtok_r(list, ",", &save); id != NULL;
	     id = strtok_r(NULL, ",", &save)) {
		struct fleet_node *nd;
		uint64_t v;

		if (parse_number(id, UINT64_MAX, &v) != 0)
			fail_usage("--in-service: '%s' is not a node id", id);
		nd = find_node(v, tool.n_nodes);
		if (nd == NULL)
			fail_usage("--in-service: node %" PRIu64 " is not one of "
				   "the --node options", v);
		if (nd->in_service)
			fail_usage("--in-service: node %" PRIu64 " given twice", v);
		nd->in_service = true;
		n++;
	}
	if (n == 0)
		fail_usage("--in-service: no node id (ID,ID,...)");
}

/* The map, indented by indent (a table holds it one level in). */
static void
print_map(const char *indent, const char *daddr)
{
	char buf[INET6_ADDRSTRLEN];

	printf("%smap %s {\n", indent, tool.map_name);
	printf("%s\ttypeof @th,%u,%u : %s\n", indent,
	       TH_SERVER_ID(TH_SHORT_DCID), 8 * tool.node_len, daddr);
	printf("%s\telements = { ", indent);
	for (unsigned int i = 0; i < tool.n_nodes; i++) {
		uint8_t key[QS_QUIC_LB_SERVER_ID_MAX];

		qs_cid_quic_lb_node(tool.nodes[i].id, tool.node_len, key);
		printf("%s0x", i > 0 ? ", " : "");
		print_hex(stdout, key, tool.node_len);
		printf(" : %s", addr_text(&tool.nodes[i].addr, buf, sizeof(buf)));
	}
	printf(" }\n%s}\n", indent);
}

/* The 4-tuple hash over the nodes in service, in node-id order, to the end
 * of the line: Initials and 0-RTT, and other versions. */
static void
print_spread(const char *ip, unsigned int n_in)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned int k = 0;

	printf("jhash %s saddr . udp sport . %s daddr . udp dport mod %u seed "
	       "0x%x map { ", ip, ip, n_in, JHASH_SEED);
	for (unsigned int i = 0; i < tool.n_nodes; i++) {
		if (!tool.nodes[i].in_service)
			continue;
		printf("%s%u : %s", k > 0 ? ", " : "", k,
		       addr_text(&tool.nodes[i].addr, buf, sizeof(buf)));
		k++;
	}
	printf(" } accept\n");
}

/* Every node's address, as an nftables set: the source of replies. */
static void
print_node_set(void)
{
	char buf[INET6_ADDRSTRLEN];

	printf("{ ");
	for (unsigned int i = 0; i < tool.n_nodes; i++)
		printf("%s%s", i > 0 ? ", " : "",
		       addr_text(&tool.nodes[i].addr, buf, sizeof(buf)));
	printf(" }");
}

/* The table: replaces itself, routes the service by CID, spreads what has
 * no CID of ours by 4-tuple, drops the rest. Stateless: every datagram is
 * routed by its own header and rewritten in both directions, nothing is
 * tracked (conntrack's NAT decides once per 4-tuple, and a client port
 * that a new connection reuses while the old flow lives would follow it
 * to the old node). family ("ip", "ip6") is also the keyword of the
 * address matches. */
static void
print_table(const char *family, const char *daddr, const struct addr *svc_addr,
	    uint16_t port)
{
	const struct qs_quic_lb_config *lb = &tool.lb;
	unsigned int bits = 8 * tool.node_len, n_in = 0;
	char svc[INET6_ADDRSTRLEN], match[128];

	addr_text(svc_addr, svc, sizeof(svc));
	snprintf(match, sizeof(match), "%s daddr %s udp dport %u", family, svc, port);
	for (unsigned int i = 0; i < tool.n_nodes; i++)
		n_in += tool.nodes[i].in_service;

	printf("# table %s %s: UDP to %s port %u, routed to %u nodes (%u in "
	       "service).\n"
	       "# Load with `nft -f FILE`: one transaction replaces the table (the\n"
	       "# empty table first makes the delete succeed on the first load).\n"
	       "# Stateless: each datagram goes by its own header, the node's replies\n"
	       "# leave from the service address; no conntrack, so a client port a\n"
	       "# new connection reuses cannot follow an old flow to another node.\n",
	       family, tool.table_name, svc, port, tool.n_nodes, n_in);
	printf("table %s %s {}\n", family, tool.table_name);
	printf("delete table %s %s\n", family, tool.table_name);
	printf("table %s %s {\n", family, tool.table_name);
	printf("\t# what no rule routes: nft list counter %s %s %s\n", family,
	       tool.table_name, UNROUTABLE_COUNTER);
	printf("\tcounter %s {\n\t}\n", UNROUTABLE_COUNTER);
	printf("\t# node id (the server ID's first %u byte%s) -> node address\n",
	       tool.node_len, tool.node_len == 1 ? "" : "s");
	print_map("\t", daddr);
	printf("\t# the service's datagrams and the nodes' replies: not tracked\n");
	printf("\tchain untracked {\n"
	       "\t\ttype filter hook prerouting priority raw; policy accept;\n");
	printf("\t\t%s notrack\n", match);
	printf("\t\t%s saddr ", family);
	print_node_set();
	printf(" udp sport %u notrack\n\t}\n", port);
	printf("\t# to a node: the destination rewritten before routing\n");
	printf("\tchain route {\n"
	       "\t\ttype filter hook prerouting priority mangle; policy accept;\n");
	printf("\t\t# short header, DCID of config %u: to the node its server ID "
	       "names\n", lb->config_id);
	printf("\t\t%s @th,%u,1 0 @th,%u,3 %u %s set @th,%u,%u map @%s accept\n",
	       match, TH_FIRST_OCTET, TH_SHORT_DCID, lb->config_id, daddr,
	       TH_SERVER_ID(TH_SHORT_DCID), bits, tool.map_name);
	printf("\t\t# Handshake (QUIC v1 long header type 2), DCID of %u bytes "
	       "and config %u:\n\t\t# to the node its server ID names. The types "
	       "are read without the fixed\n\t\t# bit (0x40), which clients "
	       "grease (RFC 9287)\n", lb->cid_len, lb->config_id);
	printf("\t\t%s @th,%u,8 & 0xb0 == 0xa0 @th,%u,32 0x%08x @th,%u,8 %u "
	       "@th,%u,3 %u %s set @th,%u,%u map @%s accept\n", match,
	       TH_FIRST_OCTET, TH_VERSION, QUIC_V1, TH_LONG_DCID_LEN, lb->cid_len,
	       TH_LONG_DCID, lb->config_id, daddr, TH_SERVER_ID(TH_LONG_DCID), bits,
	       tool.map_name);
	printf("\t\t# Initial and 0-RTT (v1 types 0 and 1): the client chose the "
	       "DCID, so a\n\t\t# hash of the 4-tuple picks one of the nodes in "
	       "service (in node-id order)\n");
	printf("\t\t%s @th,%u,8 & 0xa0 == 0x80 @th,%u,32 0x%08x %s set ", match,
	       TH_FIRST_OCTET, TH_VERSION, QUIC_V1, daddr);
	print_spread(family, n_in);
	printf("\t\t# a long header of another version (not 1, not 0 = Version "
	       "Negotiation):\n\t\t# any node answers with Version Negotiation; "
	       "the same hash as Initials, so\n\t\t# the client's next Initial "
	       "from that 4-tuple goes to the same node\n");
	printf("\t\t%s @th,%u,1 1 @th,%u,32 != { 0x00000000, 0x%08x } %s set ",
	       match, TH_FIRST_OCTET, TH_VERSION, QUIC_V1, daddr);
	print_spread(family, n_in);
	printf("\t\t# the rest: CIDs of another config or of a node not in the "
	       "map, Retry and\n\t\t# Version Negotiation (only servers send "
	       "them), runts: counted, dropped\n");
	printf("\t\t%s counter name %s drop\n\t}\n", match, UNROUTABLE_COUNTER);
	printf("\t# from a node: the client sees the service address\n");
	printf("\tchain replies {\n"
	       "\t\ttype filter hook postrouting priority mangle; policy accept;\n");
	printf("\t\t%s saddr ", family);
	print_node_set();
	printf(" udp sport %u %s saddr set %s\n\t}\n}\n", port, family, svc);
}

static int
cmd_nft_map(void)
{
	const struct qs_quic_lb_config *lb = &tool.lb;
	const char *family, *daddr;
	struct addr svc_addr;
	uint16_t port = 0;

	if (lb->mode != QS_QUIC_LB_PLAINTEXT)
		fail_usage("nft-map: this configuration has a key (%s): the server "
			   "ID is encrypted in every CID, so no nftables map can "
			   "route by it; nft-map is for plaintext configurations "
			   "only", lb->mode_name);
	if (tool.node_len == 0)
		fail_usage("nft-map: server_id_len 1 leaves no byte for the node "
			   "(the server ID is the worker alone): one node, nothing "
			   "to map");
	if (tool.n_nodes == 0)
		fail_usage("nft-map: give the nodes, --node ID=ADDR for each");
	if ((tool.table_name != NULL) != (tool.service_text != NULL))
		fail_usage("nft-map: --table NAME and --service ADDR:PORT go "
			   "together");
	if (tool.in_service_text != NULL && tool.table_name == NULL)
		fail_usage("nft-map: --in-service needs --table (the map alone "
			   "holds every node)");
	if (tool.map_name == NULL)
		tool.map_name = DEFAULT_MAP;
	check_name("--map", tool.map_name);
	if (tool.table_name != NULL)
		check_name("--table", tool.table_name);
	parse_nodes();
	if (tool.table_name != NULL) {
		parse_service(&svc_addr, &port);
		if (svc_addr.family != tool.nodes[0].addr.family)
			fail_usage("--service '%s': the nodes are %s, the service "
				   "is not", tool.service_text,
				   tool.nodes[0].addr.family == AF_INET ? "IPv4"
									: "IPv6");
		if (tool.in_service_text != NULL)
			parse_in_service();
	}
	/* everything checked: only printing from here */
	family = tool.nodes[0].addr.family == AF_INET ? "ip" : "ip6";
	daddr = tool.nodes[0].addr.family == AF_INET ? "ip daddr" : "ip6 daddr";

	printf("# " PROG " nft-map: QUIC-LB config %u, %s, server ID %u bytes "
	       "(node %u, worker 1)\n", lb->config_id, lb->mode_name,
	       lb->server_id_len, tool.node_len);
	printf("# short header: %s set @th,%u,%u map @%s\n", daddr,
	       TH_SERVER_ID(TH_SHORT_DCID), 8 * tool.node_len, tool.map_name);
	printf("# Handshake (DCID at its long-header offset): %s set @th,%u,%u "
	       "map @%s\n", daddr, TH_SERVER_ID(TH_LONG_DCID), 8 * tool.node_len,
	       tool.map_name);
	if (tool.table_name == NULL)
		print_map("", daddr);
	else
		print_table(family, daddr, &svc_addr, port);
	return 0;
}

int
main(int argc, char **argv)
{
	static int (*const run[N_COMMANDS])(void) = {
		[CMD_ENCODE] = cmd_encode,
		[CMD_DECODE] = cmd_decode,
		[CMD_NFT_MAP] = cmd_nft_map,
	};
	int rc;

	parse_command_line(argc, argv);
	load_configuration();
	rc = run[tool.cmd]();
	if (tool.lb_set_up)
		qs_quic_lb_config_free(&tool.lb);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, PROG ": writing the output: %s\n", strerror(errno));
		return 1;
	}
	return rc;
}
