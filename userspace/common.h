/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Helpers every iommufd-bpf subcommand shares: logging, checks, privileges. */
#ifndef IOMMUFD_BPF_COMMON_H
#define IOMMUFD_BPF_COMMON_H

#include <stdbool.h>
#include <stdint.h>

#include <signal.h>

struct argp_state;

/* Exit statuses of every subcommand */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

extern bool verbose;

/* Print "iommufd-bpf: <message>" to stderr */
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* libbpf's print callback: debug output only with -v */
void setup_libbpf_logging(void);

/* Check CAP_BPF + CAP_PERFMON in the effective set; -1 with a message if not */
int check_bpf_privileges(void);

/* Drop every capability once programs are attached; -1 on failure */
int drop_all_capabilities(void);

/*
 * Parse a duration with a unit: "250ms", "10s", "2m", "1h"; a bare number is
 * seconds. Returns 0 and sets *ns, or -1 on a malformed or zero value.
 */
int parse_duration(const char *s, uint64_t *ns);

/* Parse an unsigned 32-bit id; -1 if not a number or out of range */
int parse_u32(const char *s, uint32_t *out);

/* Parse a process id (1 .. INT32_MAX); -1 otherwise */
int parse_pid(const char *s, int32_t *pid);

/*
 * Parse a size: a number with an optional binary unit, "4096", "4K",
 * "2MiB", "1.5G" (K, M, G, T are powers of 1024, with or without "iB"/"B").
 * Returns 0 and sets *bytes, or -1 on a malformed or zero value.
 */
int parse_size(const char *s, uint64_t *bytes);

/*
 * A byte count (or rate) for people, the one size format of every command:
 * "512 B", "12.0 KiB", "-1.5 GiB". Returns @buf.
 */
const char *format_size(double bytes, char *buf, size_t len);

/*
 * Parse a rate per second: a size ("64MiB/s", "1G"; "/s" optional) or a
 * link speed in decimal bits ("10Gbit/s", "25Gbit", "100Mbit"). Zero is
 * allowed. Returns 0 and sets *bytes_per_s, or -1 when malformed.
 */
int parse_rate(const char *s, double *bytes_per_s);

/* CLOCK_MONOTONIC in ns */
uint64_t monotonic_ns(void);

/* Sleep until monotonic_ns() reaches @t; a signal ends it early */
void sleep_until(uint64_t t);

/*
 * Set by SIGINT and SIGTERM once catch_exit_signals() ran: the command ends
 * its loop, reports, and exits 0.
 */
extern volatile sig_atomic_t exit_requested;
void catch_exit_signals(void);
/* Standard output that a signal cannot cut short (call first in main) */
void stdout_survives_signals(void);

/*
 * -p PID, -d TIME and -v, which the tracing and counting commands share:
 * an argp child. A command lists COMMON_ARGP_CHILD in its argp's children
 * and, on ARGP_KEY_INIT, points state->child_inputs[0] at its
 * struct common_opts.
 */
struct common_opts {
	int32_t owner_tgid;	/* -p: only contexts this tgid owns; 0: all */
	uint64_t duration_ns;	/* -d: stop after this long; 0: never */
};

extern const struct argp common_argp;
#define COMMON_ARGP_CHILD { &common_argp, 0, NULL, 0 }

/*
 * Only -d and -v, for a command whose -p means something else (fault
 * attach: the process holding the fd); its input is a struct common_opts
 * too, owner_tgid unused.
 */
extern const struct argp runtime_argp;
#define RUNTIME_ARGP_CHILD { &runtime_argp, 0, NULL, 0 }

/*
 * Parse the positional [INTERVAL [COUNT]] of a reporting command: INTERVAL
 * a duration (a bare number is seconds), COUNT at least 1. Reports a bad or
 * extra argument through argp_error() (exit 2).
 */
void parse_interval_count(struct argp_state *state, const char *arg,
			  uint64_t *interval_ns, uint32_t *count);

/*
 * Records a BPF producer lost before its reader saw them. The producer
 * numbers every record it reserves and every one it drops (1..next_seq,
 * dense), but on several CPUs records enter the ring in another order than
 * their numbers, so a gap in the stream is not a loss until every record is
 * in: call after detaching the programs and draining the ring.
 */
static inline uint64_t records_lost(uint64_t next_seq, uint64_t delivered)
{
	return next_seq > delivered ? next_seq - delivered : 0;
}

#endif
