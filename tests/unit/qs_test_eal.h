/* EAL for the unit tests that need mbufs, rings or the TSC: no hugepages,
 * no PCI, no shared config file, no telemetry socket, so tests run as any
 * user, side by side, and leave nothing behind. */
#ifndef QS_TEST_EAL_H
#define QS_TEST_EAL_H

#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>

/* name: unique per test program (it becomes the --file-prefix);
 * lcores: the -l list, e.g. "0" or "0-1". Exits on failure. */
static inline void
test_eal_init(const char *name, const char *lcores)
{
	char prefix[64], lcore_list[32];
	char *argv[] = {
		(char *)"unit-test", (char *)"--no-huge", (char *)"--no-pci",
		(char *)"-m", (char *)"128", (char *)"--no-shconf",
		(char *)"--no-telemetry", (char *)"--log-level=error",
		(char *)"--file-prefix", prefix, (char *)"-l", lcore_list,
	};

	snprintf(prefix, sizeof(prefix), "unit-%s", name);
	snprintf(lcore_list, sizeof(lcore_list), "%s", lcores);
	if (rte_eal_init((int)RTE_DIM(argv), argv) < 0) {
		fprintf(stderr, "%s: EAL initialisation failed: %s\n", name,
			rte_strerror(rte_errno));
		exit(2);
	}
}

/* rte_eal_cleanup, and the (empty) runtime directory EAL made. */
static inline void
test_eal_cleanup(void)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_eal_cleanup();
	rmdir(dir);
}

#endif
