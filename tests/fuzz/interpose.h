/* What the server fuzz binaries (fuzz_server, make_server_seeds) replace
 * under the server so that a run is a function of its input alone:
 * randomness, the clocks and, per input, packet protection. interpose.c
 * says how; nothing in lib/ changes. */
#ifndef QS_FUZZ_INTERPOSE_H
#define QS_FUZZ_INTERPOSE_H

#include <stdbool.h>
#include <stdint.h>

/* Whose draws a gnutls_rnd call takes: each role has its own fixed-seed
 * stream, so a client in the same process (make_server_seeds) does not
 * shift what the server draws, and a seed replays alone as recorded. */
enum qs_fuzz_role {
	QS_FUZZ_ROLE_SERVER,
	QS_FUZZ_ROLE_CLIENT,
	QS_FUZZ_ROLE_FIXTURES,     /* the certificate and its key */
	QS_FUZZ_N_ROLES,
};

/* The virtual clock, ns: the server's env->now, and (plus a fixed epoch)
 * the wall clock GnuTLS and the token code read. Only the harness moves it. */
extern uint64_t qs_fuzz_clock_ns;

/* The wall-clock second the virtual clock's zero stands for (2023-11-14);
 * the certificate is valid around it. */
#define QS_FUZZ_WALL_EPOCH_S 1700000000ull

/* Once, before anything else: finds the real packet-protection functions
 * and hands GnuTLS the virtual wall clock. Aborts on failure. */
void qs_fuzz_interpose_init(void);

/* Every random stream back to its seed (the start of an input). */
void qs_fuzz_rnd_reset(void);
/* Makes role's stream the one gnutls_rnd draws from; returns the previous. */
enum qs_fuzz_role qs_fuzz_rnd_role(enum qs_fuzz_role role);

/* Null packet protection (plaintext, an all-zero AEAD tag, no header
 * mask) instead of the real AEAD and header protection, for both ends. */
void qs_fuzz_null_protection(bool on);

#endif
