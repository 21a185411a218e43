/* SPDX-License-Identifier: MIT */
/* main.c -- the r53d command line: parse options, then daemon_run or daemon_check. */
#include "daemon.h"
#include "log.h"

#include <event2/event.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: r53d -c CONFIG [--syslog] [-v]\n"
		"       r53d --check CONFIG\n"
		"       r53d -c CONFIG --export DIR\n"
		"       r53d -c CONFIG --reimport ID\n"
		"\n"
		"Authoritative DNS server for Route 53-style hosted zones.\n"
		"\n"
		"  -c, --config CONFIG  serve the configuration (JSON) in the foreground\n"
		"      --check CONFIG   load the configuration and zones, print a summary, exit\n"
		"      --export DIR     write the hosted zones, record sets, health checks and CIDR\n"
		"                       collections (store and configuration) as AWS CLI output files\n"
		"      --reimport ID    replace the stored copy of a hosted zone, health check or CIDR\n"
		"                       collection with the configuration file's (r53d stopped)\n"
		"      --syslog         log to syslog instead of stderr\n"
		"  -v, --verbose        log debug messages\n"
		"  -h, --help           show this help\n"
		"  -V, --version        show the version\n"
		"\n"
		"Signals: SIGHUP reloads the configuration (and reopens the query log), SIGUSR1\n"
		"reopens the query log, SIGTERM/SIGINT stop the server.\n"
		"Exit status: 0 ok, 1 configuration or start-up error, 2 usage error.\n");
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_SYSLOG, OPT_EXPORT, OPT_REIMPORT };
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", required_argument, NULL, OPT_CHECK },
		{ "syslog", no_argument, NULL, OPT_SYSLOG },
		{ "export", required_argument, NULL, OPT_EXPORT },
		{ "reimport", required_argument, NULL, OPT_REIMPORT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *check = NULL, *export_dir = NULL, *reimport = NULL;
	bool use_syslog = false, verbose = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:vhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config = optarg;
			break;
		case OPT_CHECK:
			check = optarg;
			break;
		case OPT_EXPORT:
			export_dir = optarg;
			break;
		case OPT_REIMPORT:
			reimport = optarg;
			break;
		case OPT_SYSLOG:
			use_syslog = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return DAEMON_EXIT_OK;
		case 'V':
			printf("r53d %s\n", R53D_VERSION);
			return DAEMON_EXIT_OK;
		default: /* getopt_long has named the problem */
			fprintf(stderr, "Try 'r53d --help'.\n");
			return DAEMON_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "r53d: unexpected argument '%s'\nTry 'r53d --help'.\n", argv[optind]);
		return DAEMON_EXIT_USAGE;
	}
	if ((config == NULL) == (check == NULL)) {
		fprintf(stderr, "r53d: %s\nTry 'r53d --help'.\n",
			config == NULL ? "give -c CONFIG or --check CONFIG"
				       : "-c and --check cannot be used together");
		return DAEMON_EXIT_USAGE;
	}
	if (check != NULL && (export_dir != NULL || reimport != NULL)) {
		fprintf(stderr, "r53d: --export and --reimport go with -c CONFIG\nTry 'r53d --help'.\n");
		return DAEMON_EXIT_USAGE;
	}
	if (export_dir != NULL && reimport != NULL) {
		fprintf(stderr, "r53d: --export and --reimport cannot be used together\nTry 'r53d --help'.\n");
		return DAEMON_EXIT_USAGE;
	}
	if (check != NULL)
		return daemon_check(check, stdout, stderr);
	if (export_dir != NULL)
		return daemon_export(config, export_dir, stderr);
	if (reimport != NULL)
		return daemon_reimport(config, reimport, stdout, stderr);

	log_use_syslog(use_syslog, "r53d");
	log_set_level(verbose ? LOG_DEBUG : LOG_INFO);
	int status = daemon_run(config);
	/* Free libevent's global state so that leak checkers see a clean exit. */
	libevent_global_shutdown();
	return status;
}
