#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <rte_common.h>

#include "base/qs_log.h"
#include "quic/qs_quic_glue.h"
#include "quic/qs_tls.h"

/* TLS 1.3 only; the compat mode's fake change_cipher_spec has no place in
 * QUIC (RFC 9001 8.4). */
#define QS_TLS_PRIORITY \
	"%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:" \
	"-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:" \
	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1"

static const char h3_alpn[] = "h3";

/* read-only after qs_tls_init */
static gnutls_priority_t priority;
static gnutls_datum_t ticket_key;

bool
qs_tls_enabled(void)
{
	return priority != NULL;
}

int
qs_tls_init(const struct qs_config *cfg, char *err, size_t errlen)
{
	const char *perr = NULL;
	int rv;

	if (cfg->cert[0] == '\0')
		return 0;
	rv = gnutls_priority_init(&priority, QS_TLS_PRIORITY, &perr);
	if (rv != 0) {
		snprintf(err, errlen, "TLS priority at '%s': %s", perr ? perr : "",
			 gnutls_strerror(rv));
		priority = NULL;
		return -1;
	}
	if (cfg->ticket_key_set) {
		ticket_key.data = gnutls_malloc(QS_TICKET_KEY_LEN);
		if (ticket_key.data == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		memcpy(ticket_key.data, cfg->ticket_key, QS_TICKET_KEY_LEN);
		ticket_key.size = QS_TICKET_KEY_LEN;
	} else {
		rv = gnutls_session_ticket_key_generate(&ticket_key);
		if (rv != 0) {
			snprintf(err, errlen, "session ticket key: %s",
				 gnutls_strerror(rv));
			goto fail;
		}
		RTE_LOG(INFO, QS_EP,
			"[tls] ticket_key is random; set it so resumption and "
			"0-RTT survive restarts and work across nodes\n");
	}
	return 0;
fail:
	qs_tls_fini();
	return -1;
}

void
qs_tls_fini(void)
{
	if (ticket_key.data != NULL) {
		gnutls_memset(ticket_key.data, 0, ticket_key.size);
		gnutls_free(ticket_key.data);
		ticket_key.data = NULL;
	}
	if (priority != NULL)
		gnutls_priority_deinit(priority);
	priority = NULL;
}

struct qs_tls_creds *
qs_tls_creds_load(const struct qs_config *cfg, uint16_t n_workers, char *err,
		  size_t errlen)
{
	struct qs_tls_creds *creds = calloc(1, sizeof(*creds));
	int rv;

	if (creds == NULL || qs_holds_init(&creds->holds, n_workers) != 0) {
		free(creds);
		snprintf(err, errlen, "TLS credentials: out of memory");
		return NULL;
	}
	if ((rv = gnutls_certificate_allocate_credentials(&creds->cert)) != 0) {
		snprintf(err, errlen, "TLS credentials: %s", gnutls_strerror(rv));
		creds->cert = NULL;
		goto fail;
	}
	rv = gnutls_certificate_set_x509_key_file(creds->cert, cfg->cert,
						  cfg->key, GNUTLS_X509_FMT_PEM);
	if (rv < 0) {
		if (rv == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
			snprintf(err, errlen,
				 "[tls] key '%s' does not match cert '%s'",
				 cfg->key, cfg->cert);
		else
			snprintf(err, errlen,
				 "[tls] cert '%s' / key '%s': %s", cfg->cert,
				 cfg->key, gnutls_strerror(rv));
		goto fail;
	}
	return creds;
fail:
	qs_tls_creds_free(creds);
	return NULL;
}

void
qs_tls_creds_free(struct qs_tls_creds *creds)
{
	if (creds == NULL)
		return;
	if (creds->cert != NULL)
		gnutls_certificate_free_credentials(creds->cert);
	qs_holds_fini(&creds->holds);
	free(creds);
}

/* Accepts every 0-RTT ClientHello inside GnuTLS's time window: quicsteer
 * serves only GET and HEAD, which are safe to replay (RFC 8470). */
static int
anti_replay_add(void *db, time_t exp, const gnutls_datum_t *key,
		const gnutls_datum_t *data)
{
	(void)db; (void)exp; (void)key; (void)data;
	return 0;
}

int
qs_tls_anti_replay_new(gnutls_anti_replay_t *ar)
{
	if (gnutls_anti_replay_init(ar) != 0)
		return -1;
	gnutls_anti_replay_set_add_function(*ar, anti_replay_add);
	gnutls_anti_replay_set_ptr(*ar, NULL);
	return 0;
}

/* Refuses a ClientHello that did not select h3. */
static int
client_hello_cb(gnutls_session_t session, unsigned int htype, unsigned when,
		unsigned int incoming, const gnutls_datum_t *msg)
{
	gnutls_datum_t alpn;

	(void)htype; (void)when; (void)incoming; (void)msg;
	if (gnutls_alpn_get_selected_protocol(session, &alpn) != 0)
		return -1;
	if (alpn.size != strlen(h3_alpn) ||
	    memcmp(alpn.data, h3_alpn, alpn.size) != 0)
		return -1;
	return 0;
}

int
qs_tls_session_new(gnutls_session_t *session, ngtcp2_crypto_conn_ref *ref,
		   gnutls_anti_replay_t ar, const struct qs_tls_creds *creds)
{
	gnutls_datum_t alpn = {.data = (unsigned char *)h3_alpn,
			       .size = sizeof(h3_alpn) - 1};
	gnutls_session_t s;

	if (gnutls_init(&s, GNUTLS_SERVER | GNUTLS_ENABLE_EARLY_DATA |
				    GNUTLS_NO_AUTO_SEND_TICKET |
				    GNUTLS_NO_END_OF_EARLY_DATA) != 0)
		return -1;
	if (gnutls_priority_set(s, priority) != 0 ||
	    gnutls_session_ticket_enable_server(s, &ticket_key) != 0 ||
	    qs_quic_tls_configure(s, true) != 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, creds->cert) != 0 ||
	    gnutls_alpn_set_protocols(s, &alpn, 1,
				      GNUTLS_ALPN_MANDATORY |
					      GNUTLS_ALPN_SERVER_PRECEDENCE) != 0) {
		gnutls_deinit(s);
		return -1;
	}
	gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_CLIENT_HELLO,
					   GNUTLS_HOOK_POST, client_hello_cb);
	gnutls_anti_replay_enable(s, ar);
	gnutls_record_set_max_early_data_size(s, 0xffffffffu);
	gnutls_session_set_ptr(s, ref);
	*session = s;
	return 0;
}

void
qs_tls_send_ticket(gnutls_session_t session)
{
	int rv = gnutls_session_ticket_send(session, 1, 0);

	if (rv != 0)
		RTE_LOG(DEBUG, QS_EP, "session ticket not sent: %s\n",
			gnutls_strerror(rv));
}
