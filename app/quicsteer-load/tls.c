/* GnuTLS for the client: shared credentials (system trust, --ca, or none
 * with --insecure) and one session per QUIC connection, configured by
 * ngtcp2's GnuTLS crypto helper. */
#include <stdio.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include "qsl.h"

/* TLS 1.3 only, without the compat mode's fake change_cipher_spec (RFC
 * 9001 8.4); the groups and ciphers the server side also offers. */
#define QSL_TLS_PRIORITY \
	"%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:" \
	"-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CCM:" \
	"-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1"

static const char h3_alpn[] = "h3";

int
qsl_tls_init(struct qsl_tls *tls, const struct qsl_options *opt)
{
	const char *perr = NULL;
	int rv;

	memset(tls, 0, sizeof(*tls));
	rv = gnutls_certificate_allocate_credentials(&tls->cred);
	if (rv != 0) {
		fprintf(stderr, QSL_NAME ": TLS credentials: %s\n", gnutls_strerror(rv));
		return -1;
	}
	if (opt->ca != NULL) {
		rv = gnutls_certificate_set_x509_trust_file(tls->cred, opt->ca,
							    GNUTLS_X509_FMT_PEM);
		if (rv <= 0) {
			fprintf(stderr, QSL_NAME ": --ca %s: %s\n", opt->ca,
				rv < 0 ? gnutls_strerror(rv) : "no certificate in it");
			goto fail;
		}
		tls->verify = true;
	} else if (!opt->insecure) {
		rv = gnutls_certificate_set_x509_system_trust(tls->cred);
		if (rv < 0) {
			fprintf(stderr, QSL_NAME ": system trust store: %s\n",
				gnutls_strerror(rv));
			goto fail;
		}
		tls->verify = true;
	}
	rv = gnutls_priority_init(&tls->priority, QSL_TLS_PRIORITY, &perr);
	if (rv != 0) {
		fprintf(stderr, QSL_NAME ": TLS priority at '%s': %s\n",
			perr ? perr : "", gnutls_strerror(rv));
		goto fail;
	}
	return 0;
fail:
	qsl_tls_fini(tls);
	return -1;
}

void
qsl_tls_fini(struct qsl_tls *tls)
{
	if (tls->ticket.data != NULL)
		gnutls_free(tls->ticket.data);
	tls->ticket.data = NULL;
	tls->ticket.size = 0;
	if (tls->priority != NULL)
		gnutls_priority_deinit(tls->priority);
	tls->priority = NULL;
	if (tls->cred != NULL)
		gnutls_certificate_free_credentials(tls->cred);
	tls->cred = NULL;
}

/* Keeps the newest session ticket (--resume): the priming connection's
 * for everyone, later ones for their own thread. */
static int
ticket_hook(gnutls_session_t session, unsigned int htype, unsigned int when,
	    unsigned int incoming, const gnutls_datum_t *msg)
{
	ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr(session);
	struct qsl_conn *c = ref->user_data;
	struct qsl_tls *tls = c->w->tls;
	gnutls_datum_t data;

	(void)when; (void)incoming; (void)msg;
	if (htype != GNUTLS_HANDSHAKE_NEW_SESSION_TICKET || !c->w->opt->resume)
		return 0;
	if (gnutls_session_get_data2(session, &data) != 0)
		return 0;	/* no ticket to keep: not an error of the handshake */
	if (!c->w->priming) {
		/* only this thread reads its own ticket */
		if (c->w->ticket.data != NULL)
			gnutls_free(c->w->ticket.data);
		c->w->ticket = data;
		return 0;
	}
	/* only the priming worker runs while this is written */
	if (tls->ticket.data != NULL)
		gnutls_free(tls->ticket.data);
	tls->ticket = data;
	c->got_ticket = true;
	return 0;
}

int
qsl_tls_session_new(const struct qsl_tls *tls, gnutls_session_t *out,
		    const struct qsl_uri *uri, ngtcp2_crypto_conn_ref *ref,
		    bool use_ticket, const gnutls_datum_t *own_ticket, bool *early)
{
	const gnutls_datum_t *ticket = own_ticket != NULL && own_ticket->data != NULL
		? own_ticket : &tls->ticket;
	gnutls_datum_t alpn = {.data = (unsigned char *)h3_alpn,
			       .size = sizeof(h3_alpn) - 1};
	gnutls_session_t s;

	*early = false;
	if (gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_ENABLE_EARLY_DATA |
				    GNUTLS_NO_END_OF_EARLY_DATA) != 0)
		return -1;
	if (gnutls_priority_set(s, tls->priority) != 0 ||
	    qs_quic_tls_configure(s, false) != 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, tls->cred) != 0 ||
	    gnutls_alpn_set_protocols(s, &alpn, 1, GNUTLS_ALPN_MANDATORY) != 0)
		goto fail;
	/* SNI carries names only (RFC 6066 3), never an address literal */
	if (!uri->host_is_ip &&
	    gnutls_server_name_set(s, GNUTLS_NAME_DNS, uri->host,
				   strlen(uri->host)) != 0)
		goto fail;
	/* checks the chain and the name or IP address in the certificate */
	if (tls->verify)
		gnutls_session_set_verify_cert(s, uri->host, 0);
	gnutls_handshake_set_hook_function(s, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
					   GNUTLS_HOOK_POST, ticket_hook);
	if (use_ticket && ticket->data != NULL && tls->have_params) {
		if (gnutls_session_set_data(s, ticket->data, ticket->size) == 0)
			*early = true;
	}
	gnutls_session_set_ptr(s, ref);
	*out = s;
	return 0;
fail:
	gnutls_deinit(s);
	return -1;
}
