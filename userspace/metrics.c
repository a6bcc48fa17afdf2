// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iommufd-bpf metrics: export the in-kernel aggregation (iommufd_stats) to
 * Prometheus, by serving /metrics over HTTP and/or by rewriting a file for
 * node_exporter's textfile collector, so a fleet's Prometheus aggregates
 * across machines.
 */
#include <argp.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <bpf/libbpf.h>

#include "common.h"
#include "exposition.h"
#include "scrape_server.h"
#include "stats.h"
#include "subcommands.h"

static struct metrics_opts {
	struct common_opts common;
	const char *listen;
	const char *textfile;
	uint64_t interval_ns;
	bool no_latency;
	bool fallback;
	int memory_cpus;	/* --memory: print for this many CPUs, exit */
	union {
		struct sockaddr_in v4;
		struct sockaddr_in6 v6;
	} addr;
} opts = {
	.interval_ns = 15000000000ull,
};

enum { OPT_LISTEN = 0x100, OPT_TEXTFILE, OPT_INTERVAL, OPT_NO_LATENCY,
       OPT_MEMORY, OPT_FALLBACK };

static const struct argp_option options[] = {
	{ "listen", OPT_LISTEN, "ADDR:PORT", 0, "Serve /metrics over HTTP here: 127.0.0.1:9464, [::1]:9464, localhost:9464, or :9464 for every IPv4 address", 0 },
	{ "textfile", OPT_TEXTFILE, "FILE.prom", 0, "Rewrite FILE.prom every interval for node_exporter's textfile collector (atomically: write aside, rename)", 0 },
	{ "interval", OPT_INTERVAL, "TIME", 0, "How often to rewrite the textfile (default 15s)", 0 },
	{ "no-latency", OPT_NO_LATENCY, NULL, 0, "Leave out the latency histograms (cheaper per operation)", 0 },
	{ "fallback", OPT_FALLBACK, NULL, 0, "Count as on a kernel without the iommufd-bpf series (fexit on the ioctl handlers), even where the series is there: to compare the two", 0 },
	{ "memory", OPT_MEMORY, "CPUS", OPTION_ARG_OPTIONAL, "Print the kernel memory the BPF tables would take on a host with CPUS possible CPUs (default: this one) and exit; loads nothing", 0 },
	{},
};

static const char doc[] =
	"Export iommufd activity as Prometheus metrics: maps, unmaps, bytes,\n"
	"IOTLB flushes and invalidations per IOAS; I/O page faults, their answers\n"
	"and unrecoverable DMA faults per device; bytes pinned per context; and\n"
	"latency histograms of map, unmap, invalidate and fault-to-answer. Labels:\n"
	"owner (the process using the context), comm, ioas, dev. Counters start\n"
	"at zero when the exporter starts.\n"
	"\n"
	"On a kernel without the iommufd-bpf series only the IOAS map, unmap,\n"
	"copy and error counters and the map, unmap and copy histograms are\n"
	"published, from fexit on the ioctl handlers; the other families are left\n"
	"out (unknown, not zero), ctx is a number the exporter gives each context\n"
	"and owner the process that issued the ioctl.\n"
	"\n"
	"EXAMPLES:\n"
	"  iommufd-bpf metrics --listen 127.0.0.1:9464\n"
	"  iommufd-bpf metrics --textfile /var/lib/node_exporter/textfile/iommufd.prom\n"
	"  curl -s http://127.0.0.1:9464/metrics\n"
	"\n"
	"The HTTP server answers GET /metrics in Prometheus' text format, or in\n"
	"OpenMetrics when the client asks for application/openmetrics-text (as\n"
	"Prometheus does). Exit status: 0 on success (also when ended by\n"
	"SIGINT/SIGTERM), 1 on failure (e.g. the port is in use), 2 on bad usage.";

/*
 * "IPV4:PORT", "[IPV6]:PORT", "localhost:PORT" or ":PORT" (every address)
 * into opts.addr. Numeric only: a static binary cannot use NSS to resolve.
 */
static int parse_listen(const char *s)
{
	const char *colon, *host = s;
	char h[INET6_ADDRSTRLEN];
	size_t hlen;
	uint32_t port;

	memset(&opts.addr, 0, sizeof(opts.addr));
	if (*s == '[') {
		const char *end = strchr(s, ']');

		if (!end || end[1] != ':')
			return -1;
		host = s + 1;
		hlen = end - host;
		colon = end + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', colon - s))
			return -1;	/* a bare IPv6 address needs brackets */
		hlen = colon - s;
	}
	if (hlen >= sizeof(h) || parse_u32(colon + 1, &port) || !port ||
	    port > 65535)
		return -1;
	memcpy(h, host, hlen);
	h[hlen] = 0;
	if (!strcmp(h, "localhost"))
		strcpy(h, "127.0.0.1");
	if (!*h) {
		opts.addr.v4.sin_family = AF_INET;
		opts.addr.v4.sin_addr.s_addr = htonl(INADDR_ANY);
		opts.addr.v4.sin_port = htons(port);
	} else if (inet_pton(AF_INET, h, &opts.addr.v4.sin_addr) == 1) {
		opts.addr.v4.sin_family = AF_INET;
		opts.addr.v4.sin_port = htons(port);
	} else if (inet_pton(AF_INET6, h, &opts.addr.v6.sin6_addr) == 1) {
		opts.addr.v6.sin6_family = AF_INET6;
		opts.addr.v6.sin6_port = htons(port);
	} else {
		return -1;
	}
	return 0;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	size_t n;

	switch (key) {
	case OPT_LISTEN:
		if (parse_listen(arg))
			argp_error(state, "invalid listen address '%s' (want IPV4:PORT, [IPV6]:PORT, localhost:PORT or :PORT with a port 1-65535)", arg);
		opts.listen = arg;
		break;
	case OPT_TEXTFILE:
		n = strlen(arg);
		if (n < 6 || strcmp(arg + n - 5, ".prom"))
			argp_error(state, "textfile '%s' must end in .prom: node_exporter's textfile collector reads only those", arg);
		opts.textfile = arg;
		break;
	case OPT_INTERVAL:
		if (parse_duration(arg, &opts.interval_ns))
			argp_error(state, "invalid interval '%s' (e.g. 15s)", arg);
		break;
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &opts.common;
		break;
	case OPT_FALLBACK:
		opts.fallback = true;
		break;
	case OPT_NO_LATENCY:
		opts.no_latency = true;
		break;
	case OPT_MEMORY:
		opts.memory_cpus = arg ? atoi(arg) : libbpf_num_possible_cpus();
		if (opts.memory_cpus < 1 || opts.memory_cpus > 65536 ||
		    (arg && strspn(arg, "0123456789") != strlen(arg)))
			argp_error(state, "invalid number of CPUs '%s' (1 to 65536)",
				   arg);
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (!opts.listen && !opts.textfile && !opts.memory_cpus)
			argp_error(state, "nothing to do: give --listen ADDR:PORT and/or --textfile FILE.prom");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* Bind and listen; -1 after saying why (port in use, no such address...) */
static int open_listener(void)
{
	int family = opts.addr.v4.sin_family, fd, one = 1;
	socklen_t len = family == AF_INET ? sizeof(opts.addr.v4) :
					    sizeof(opts.addr.v6);

	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		warnx_("cannot listen on %s: %s", opts.listen, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&opts.addr, len) || listen(fd, 16)) {
		warnx_("cannot listen on %s: %s", opts.listen, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Scrapes at once, and how long each may take from connect to last byte */
#define SCRAPE_CLIENTS_MAX	32
#define SCRAPE_DEADLINE_MS	5000

/* What the exporter holds while it runs */
struct exporter {
	struct iommufd_stats_bpf *skel;
	struct stats_snapshot snap;
	struct scrape_server *server;
	struct exporter_health health;
};

static void health_update(struct exporter *ex)
{
	const struct scrape_server_stats *st;

	if (!ex->server)
		return;
	st = scrape_server_stats(ex->server);
	ex->health.scrapes_timed_out = st->timed_out;
	ex->health.scrapes_refused = st->refused;
}

/* One /metrics page, read fresh from the kernel tables */
static int scrape_page(void *ctx, bool om, char **body, size_t *len,
		       const char **type)
{
	struct exporter *ex = ctx;
	FILE *mem;
	int err;

	err = stats_read(ex->skel, &ex->snap);
	if (err)
		return err;
	/* Asked to stop while reading: no one will wait for this page */
	if (exit_requested)
		return -EINTR;
	mem = open_memstream(body, len);
	if (!mem)
		return -errno;
	health_update(ex);
	err = write_exposition(mem, &ex->snap, &ex->health, om,
			       &exit_requested);
	if (fclose(mem))
		return -errno;
	if (err)
		return err;
	*type = om ? CONTENT_TYPE_OPENMETRICS : CONTENT_TYPE_PROMETHEUS;
	return 0;
}

/*
 * Write aside, then rename: the collector never reads half a file. The
 * file aside has a unique hidden name (two exporters, or the collector's
 * *.prom glob, never meet it) and is synced before the rename, so after a
 * crash the old file or the new one is there, whole. Returns 0 or -errno,
 * having said what failed.
 */
static int write_textfile(struct exporter *ex)
{
	const char *slash = strrchr(opts.textfile, '/');
	char tmp[4096];
	int fd, err;
	FILE *f;

	err = stats_read(ex->skel, &ex->snap);
	if (err) {
		warnx_("cannot read the statistics: %s", strerror(-err));
		return err;
	}
	if (slash)
		snprintf(tmp, sizeof(tmp), "%.*s/.%s.XXXXXX",
			 (int)(slash - opts.textfile), opts.textfile, slash + 1);
	else
		snprintf(tmp, sizeof(tmp), ".%s.XXXXXX", opts.textfile);
	fd = mkstemp(tmp);
	if (fd < 0) {
		err = -errno;
		warnx_("cannot write %s: %s", opts.textfile, strerror(-err));
		return err;
	}
	/* mkstemp() makes it 0600: the collector may run as another user */
	f = fchmod(fd, 0644) ? NULL : fdopen(fd, "w");
	if (!f) {
		err = -errno;
		close(fd);
	} else {
		health_update(ex);
		write_exposition(f, &ex->snap, &ex->health, false, NULL);
		if (fflush(f) || ferror(f) || fsync(fd))
			err = errno ? -errno : -EIO;
		if (fclose(f) && !err)
			err = -errno;
	}
	if (!err && rename(tmp, opts.textfile))
		err = -errno;
	if (err) {
		warnx_("cannot write %s: %s", opts.textfile, strerror(-err));
		unlink(tmp);
	}
	return err;
}

int cmd_metrics(int argc, char **argv)
{
	static const struct argp_child children[] = { COMMON_ARGP_CHILD, {} };
	static const struct argp argp = {
		.children = children,
		.options = options, .parser = parse_opt, .doc = doc,
	};
	struct stats_opts sopts = { 0 };
	struct exporter ex = { 0 };
	uint64_t deadline = 0, next_file = 0, next_collect = 0;
	int lfd = -1, err;
	long long bytes;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return EXIT_USAGE;
	sopts.command = "metrics";
	sopts.owner_tgid = opts.common.owner_tgid;
	sopts.latency = !opts.no_latency;
	sopts.fallback = opts.fallback;
	if (opts.memory_cpus) {
		char size[32];

		bytes = stats_memory(&sopts, opts.memory_cpus);
		if (bytes < 0) {
			warnx_("cannot size the BPF tables: %s", strerror(-bytes));
			return EXIT_FAIL;
		}
		printf("%lld bytes (%s) of BPF tables for %d CPUs%s\n", bytes,
		       format_size(bytes, size, sizeof(size)), opts.memory_cpus,
		       opts.no_latency ? ", without latency histograms" : "");
		return EXIT_OK;
	}
	/* Fail on the address or the file before loading anything */
	if (opts.listen) {
		lfd = open_listener();
		if (lfd < 0)
			return EXIT_FAIL;
	}
	ex.skel = stats_start(&sopts);
	if (!ex.skel) {
		err = -1;
		goto out;
	}
	bytes = stats_map_bytes(ex.skel, libbpf_num_possible_cpus());
	ex.health.bpf_map_bytes = bytes > 0 ? bytes : 0;
	err = drop_all_capabilities();
	if (err)
		goto out;
	/* A file that cannot be written at all is a mistake: say so now */
	if (opts.textfile) {
		err = write_textfile(&ex);
		if (err)
			goto out;
		next_file = monotonic_ns() + opts.interval_ns;
	}
	if (lfd >= 0) {
		ex.server = scrape_server_new(lfd, "/metrics",
					      SCRAPE_CLIENTS_MAX,
					      SCRAPE_DEADLINE_MS, scrape_page,
					      &ex);
		if (!ex.server) {
			err = -errno;
			warnx_("cannot serve %s: %s", opts.listen,
			       strerror(errno));
			goto out;
		}
	}
	catch_exit_signals();
	if (opts.common.duration_ns)
		deadline = monotonic_ns() + opts.common.duration_ns;
	if (opts.listen)
		fprintf(stderr, "Serving http://%s/metrics. Ctrl-C to end.\n",
			opts.listen);
	if (opts.textfile)
		fprintf(stderr, "Writing %s every %.1fs. Ctrl-C to end.\n",
			opts.textfile, opts.interval_ns / 1e9);

	while (!exit_requested) {
		uint64_t t = monotonic_ns();

		if (deadline && t >= deadline)
			break;
		/*
		 * Take destroyed objects' rows from the kernel every second,
		 * whatever the scrape interval, so churn does not overflow
		 * its retired tables; the next page publishes them
		 */
		if (t >= next_collect) {
			err = stats_collect(ex.skel);
			if (err) {
				warnx_("cannot read the BPF tables: %s",
				       strerror(-err));
				goto out;
			}
			next_collect = t + 1000000000ull;
		}
		/* Later failures (a full disk) are counted; the old file stays */
		if (opts.textfile && t >= next_file) {
			if (write_textfile(&ex))
				ex.health.textfile_errors++;
			next_file += opts.interval_ns;
		}
		/*
		 * Wake at least every 100 ms for the file and -d; a signal
		 * ends the wait at once, whatever clients do
		 */
		if (ex.server) {
			err = scrape_server_poll(ex.server, 100);
			if (err) {
				warnx_("serving %s: %s", opts.listen,
				       strerror(-err));
				goto out;
			}
		} else {
			sleep_until(t + 100000000ull);
		}
	}
	/* A last file with everything counted */
	if (opts.textfile)
		err = write_textfile(&ex);
out:
	scrape_server_free(ex.server);
	if (lfd >= 0)
		close(lfd);
	stats_snapshot_free(&ex.snap);
	if (ex.skel)
		stats_stop(ex.skel);
	return err ? EXIT_FAIL : EXIT_OK;
}
