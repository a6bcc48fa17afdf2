// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <argp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/capability.h>
#include <bpf/libbpf.h>

#include "common.h"

bool verbose;

void warnx_(const char *fmt, ...)
{
	va_list ap;

	fputs("iommufd-bpf: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	/* Without -v, keep libbpf's warnings: they explain load failures */
	if (level == LIBBPF_INFO && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void setup_libbpf_logging(void)
{
	libbpf_set_print(libbpf_print);
}

int check_bpf_privileges(void)
{
	cap_flag_value_t bpf = CAP_CLEAR, perfmon = CAP_CLEAR;
	cap_t caps = cap_get_proc();

	if (!caps) {
		warnx_("cannot read capabilities: %s", strerror(errno));
		return -1;
	}
	cap_get_flag(caps, CAP_BPF, CAP_EFFECTIVE, &bpf);
	cap_get_flag(caps, CAP_PERFMON, CAP_EFFECTIVE, &perfmon);
	cap_free(caps);
	if (bpf != CAP_SET || perfmon != CAP_SET) {
		warnx_("permission denied: loading tracing programs needs CAP_BPF and CAP_PERFMON (run as root)");
		return -1;
	}
	return 0;
}

int drop_all_capabilities(void)
{
	cap_t none = cap_init();
	int err;

	if (!none)
		return -1;
	err = cap_set_proc(none);
	cap_free(none);
	if (err)
		warnx_("cannot drop capabilities: %s", strerror(errno));
	return err ? -1 : 0;
}

int parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		uint64_t ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 },
		{ "s", 1000000000ull }, { "", 1000000000ull },
		{ "m", 60000000000ull }, { "h", 3600000000000ull },
	};
	unsigned long long v;
	char *end;
	size_t i;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || v == 0)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		if (v > UINT64_MAX / units[i].ns)
			return -1;
		*ns = v * units[i].ns;
		return 0;
	}
	return -1;
}

int parse_u32(const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > UINT32_MAX)
		return -1;
	*out = v;
	return 0;
}

int parse_pid(const char *s, int32_t *pid)
{
	uint32_t v;

	if (parse_u32(s, &v) || !v || v > INT32_MAX)
		return -1;
	*pid = v;
	return 0;
}

/* Binary multipliers for sizes: K, Ki, KiB, KB are all 1024 */
static int size_unit(const char *u, uint64_t *mult)
{
	static const char prefixes[] = "KMGT";
	const char *p;

	if (!*u || !strcmp(u, "B")) {
		*mult = 1;
		return 0;
	}
	p = strchr(prefixes, *u);
	if (!p || !*p)
		return -1;
	*mult = 1ull << (10 * (p - prefixes + 1));
	u++;
	if (!*u || !strcmp(u, "i") || !strcmp(u, "iB") || !strcmp(u, "B"))
		return 0;
	return -1;
}

/* A non-negative decimal number, possibly fractional, and where it ends */
static int parse_number(const char *s, double *v, char **end)
{
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	*v = strtod(s, end);
	if (errno || *end == s || *v != *v || *v > 1e30)
		return -1;
	/* strtod takes "inf", "nan" and hex: only plain decimals here */
	if (strpbrk(s, "xXnN") && strpbrk(s, "xXnN") < *end)
		return -1;
	return 0;
}

int parse_size(const char *s, uint64_t *bytes)
{
	uint64_t mult;
	double v;
	char *end;

	if (parse_number(s, &v, &end) || size_unit(end, &mult))
		return -1;
	v *= mult;
	if (v < 1 || v >= 18446744073709551615.0)
		return -1;
	*bytes = (uint64_t)v;
	return 0;
}

int parse_rate(const char *s, double *bytes_per_s)
{
	static const char prefixes[] = "kKMGT";
	char unit[16];
	uint64_t mult;
	double v;
	char *end;
	size_t n;

	if (parse_number(s, &v, &end))
		return -1;
	n = strlen(end);
	if (n >= sizeof(unit))
		return -1;
	memcpy(unit, end, n + 1);
	/* "/s" is optional: every rate is per second */
	if (n >= 2 && !strcmp(unit + n - 2, "/s"))
		unit[n - 2] = 0;
	n = strlen(unit);
	/* Link speeds in bits, decimal as networks count them: 10Gbit */
	if (n >= 3 && !strcmp(unit + n - 3, "bit")) {
		const char *p = NULL;

		unit[n - 3] = 0;
		if (unit[0]) {
			p = strchr(prefixes, unit[0]);
			if (!p || unit[1])
				return -1;
		}
		mult = 1;
		if (p) {
			int e = p == prefixes ? 1 : (int)(p - prefixes);

			while (e--)
				mult *= 1000;
		}
		*bytes_per_s = v * mult / 8;
		return 0;
	}
	if (size_unit(unit, &mult))
		return -1;
	*bytes_per_s = v * mult;
	return 0;
}

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void sleep_until(uint64_t t)
{
	uint64_t now = monotonic_ns();
	struct timespec ts;

	if (now >= t)
		return;
	ts.tv_sec = (t - now) / 1000000000ULL;
	ts.tv_nsec = (t - now) % 1000000000ULL;
	nanosleep(&ts, NULL);
}

volatile sig_atomic_t exit_requested;

static void on_exit_signal(int sig)
{
	(void)sig;
	exit_requested = 1;
}

/*
 * Without SA_RESTART (which signal() sets): a blocking call the command
 * waits in returns EINTR, so the command sees the request at once. Output
 * must then survive an interrupted write: see stdout_survives_signals().
 */
void catch_exit_signals(void)
{
	struct sigaction sa = { .sa_handler = on_exit_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

const char *format_size(double bytes, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = bytes < 0 ? -bytes : bytes;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%s%.1f %s" : "%s%.0f %s", bytes < 0 ? "-" : "",
		 v, units[u]);
	return buf;
}

/* write(2) to standard output until all is written, through EINTR */
static ssize_t stdout_write(void *cookie, const char *buf, size_t len)
{
	size_t done = 0;

	(void)cookie;
	while (done < len) {
		ssize_t n = write(STDOUT_FILENO, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return done ? (ssize_t)done : -1;
		done += n;
	}
	return done;
}

/*
 * stdio gives up on a write that a signal interrupts and drops what it
 * held, so a record on its way to a slow reader would be lost when the
 * user stops the command. Route stdout through a writer that finishes.
 */
void stdout_survives_signals(void)
{
	cookie_io_functions_t io = { .write = stdout_write };
	FILE *f = fopencookie(NULL, "w", io);

	if (!f)
		return;
	/* As stdio does for a terminal: a line at a time */
	if (isatty(STDOUT_FILENO))
		setvbuf(f, NULL, _IOLBF, 0);
	fflush(stdout);
	stdout = f;
}

void parse_interval_count(struct argp_state *state, const char *arg,
			  uint64_t *interval_ns, uint32_t *count)
{
	switch (state->arg_num) {
	case 0:
		if (parse_duration(arg, interval_ns))
			argp_error(state, "invalid interval '%s' (e.g. 1, 500ms, 5s)", arg);
		break;
	case 1:
		if (parse_u32(arg, count) || !*count)
			argp_error(state, "invalid count '%s'", arg);
		break;
	default:
		argp_error(state, "unexpected argument '%s'", arg);
	}
}

/* -d and -v: every command that runs until told to stop */
static const struct argp_option runtime_options[] = {
	{ "duration", 'd', "TIME", 0, "Stop after TIME (e.g. 500ms, 10s, 2m)", 0 },
	{ "verbose", 'v', NULL, 0, "Show libbpf's debug output", 0 },
	{},
};

static error_t parse_runtime_opt(int key, char *arg, struct argp_state *state)
{
	struct common_opts *o = state->input;

	switch (key) {
	case 'd':
		if (parse_duration(arg, &o->duration_ns))
			argp_error(state, "invalid duration '%s' (e.g. 500ms, 10s, 2m)", arg);
		break;
	case 'v':
		verbose = true;
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp runtime_argp = {
	.options = runtime_options, .parser = parse_runtime_opt,
};

/* -p on top: the commands that watch contexts by owner */
static const struct argp_option common_options[] = {
	{ "pid", 'p', "PID", 0, "Only contexts owned by this process (the last to issue an ioctl on them)", 0 },
	{},
};

static const struct argp_child common_children[] = {
	{ &runtime_argp, 0, NULL, 0 },
	{},
};

static error_t parse_common_opt(int key, char *arg, struct argp_state *state)
{
	struct common_opts *o = state->input;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = o;
		break;
	case 'p':
		if (parse_pid(arg, &o->owner_tgid))
			argp_error(state, "invalid PID '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

const struct argp common_argp = {
	.options = common_options, .parser = parse_common_opt,
	.children = common_children,
};
