// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iommufd-bpf trace: stream iommufd:* events as text or JSON lines.
 *
 * At the end it detaches, drains the ring buffer and checks the accounting:
 * produced = delivered + dropped + filtered, and the sequence gaps it saw
 * equal the drops the BPF side counted.
 */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common.h"
#include "event_format.h"
#include "json_writer.h"
#include "kernel_features.h"
#include "iommufd_trace.skel.h"
#include "iommufd_trace.h"
#include "subcommands.h"
#include "trace_sources.h"

static struct trace_opts {
	struct common_opts common;
	uint32_t ioas_id;
	uint32_t dev_id;
	uint32_t event_mask;
	uint64_t max_events;
	uint32_t ringbuf_kib;
	bool json;
	bool faults;
	bool events_given;
	bool fallback;
} opts = {
	.event_mask = IOMMUFD_EV_MASK_ALL,
};

/* --faults: faults seen, by owner, device and reason, for the summary */
struct fault_row {
	int32_t owner_tgid;
	uint32_t dev_id;
	char device[32];
	char reason[80];
	uint64_t count;
};

#define FAULT_ROWS_MAX 256

static struct trace_state {
	uint64_t delivered;
	uint64_t gaps;
	struct fault_row rows[FAULT_ROWS_MAX];
	unsigned int nr_rows;
	uint64_t rows_overflow;
} st;

enum { OPT_IOAS = 0x100, OPT_DEV, OPT_RINGBUF, OPT_FAULTS, OPT_FALLBACK };

static const struct argp_option options[] = {
	{ "ioas", OPT_IOAS, "ID", 0, "Only events on this IOAS id", 0 },
	{ "dev", OPT_DEV, "ID", 0, "Only events of this iommufd device id", 0 },
	{ "events", 'e', "LIST", 0, "Comma-separated event names, or 'all' (default)", 0 },
	{ "faults", OPT_FAULTS, NULL, 0, "The fault stream: I/O page faults, their answers and unrecoverable DMA faults, with a use-after-unmap diagnosis and a summary by device and reason at exit", 0 },
	{ "json", 'j', NULL, 0, "One JSON object per line instead of text", 0 },
	{ "count", 'c', "N", 0, "Stop after N events", 0 },
	{ "fallback", OPT_FALLBACK, NULL, 0, "Trace as on a kernel without the iommufd-bpf series (IOAS map, unmap and copy, device attach, replace and detach: fentry/fexit on iommufd's functions), even where the series is there: to compare the two", 0 },
	{ "ringbuf-kib", OPT_RINGBUF, "KIB", 0, "Ring buffer size in KiB, a power of two from 4 to 1048576 (default 4096: about 19,000 records, a burst of 9,500 4 KiB map+unmap pairs, before the consumer's next 100 ms tick)", 0 },
	{},
};

static const char doc[] =
	"Trace iommufd activity: IOAS map/unmap/copy, device attach/detach, IOTLB\n"
	"flushes, dirty tracking, I/O page faults and pinned-page accounting.\n"
	"\n"
	"EXAMPLES:\n"
	"  iommufd-bpf trace                    # every event, as text\n"
	"  iommufd-bpf trace --json -d 10s      # JSON lines for 10 seconds\n"
	"  iommufd-bpf trace -p 1234            # only iommufd contexts of pid 1234\n"
	"  iommufd-bpf trace -e fault_report,fault_respond --dev 3\n"
	"  iommufd-bpf trace --faults -p 1234   # the faults of one VMM's devices\n"
	"\n"
	"dma_fault records are unrecoverable DMA faults (a device touched an IOVA it\n"
	"may not), attributed to the iommufd device, HWPT, IOAS and owner; on VT-d\n"
	"they also carry the source id, PASID and the fault reason. With dma_fault\n"
	"traced, the last 32 ranges unmapped from each IOAS are remembered in the\n"
	"kernel, and a fault inside one is reported as \"DMA after unmap\" with the\n"
	"range, how long before the fault it was unmapped, and by which process.\n"
	"\n"
	"Records wait in a 4 MiB ring buffer (--ringbuf-kib) and are read every\n"
	"100 ms, or as soon as 1,024 have come. If it fills anyway, records are\n"
	"dropped, counted, and a line on stderr says so once a second.\n"
	"\n"
	"On a kernel without the iommufd-bpf series it traces what it can from\n"
	"fentry/fexit on iommufd's functions (IOAS map, unmap and copy; device\n"
	"attach, replace and detach; JSON fields it cannot know are null) and says\n"
	"on stderr what is missing.\n"
	"\n"
	"At exit it prints produced, delivered, dropped and filtered counts to stderr\n"
	"(and a final \"summary\" object with --json); with --faults first a count of\n"
	"faults by owner, device and reason. Exit status: 0 on success\n"
	"(also when ended by SIGINT/SIGTERM), 1 on failure, 2 on bad usage.\n"
	"\vEvents:";

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	const char *bad;
	uint32_t v;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &opts.common;
		break;
	case OPT_IOAS:
		if (parse_u32(arg, &opts.ioas_id) || !opts.ioas_id)
			argp_error(state, "invalid IOAS id '%s'", arg);
		break;
	case OPT_DEV:
		if (parse_u32(arg, &opts.dev_id) || !opts.dev_id)
			argp_error(state, "invalid device id '%s'", arg);
		break;
	case 'e':
		if (opts.faults)
			argp_error(state, "--faults chooses the events: do not combine it with -e");
		if (parse_event_list(arg, &opts.event_mask, &bad))
			argp_error(state, "unknown event '%s' (known: %s)", bad,
				   event_names_help());
		opts.events_given = true;
		break;
	case OPT_FAULTS:
		if (opts.events_given)
			argp_error(state, "--faults chooses the events: do not combine it with -e");
		opts.faults = true;
		opts.event_mask = IOMMUFD_EV_MASK_FAULTS;
		break;
	case 'j':
		opts.json = true;
		break;
	case OPT_FALLBACK:
		opts.fallback = true;
		break;
	case 'c':
		if (parse_u32(arg, &v) || !v)
			argp_error(state, "invalid count '%s'", arg);
		opts.max_events = v;
		break;
	case OPT_RINGBUF:
		if (parse_u32(arg, &v) || v < 4 || (v & (v - 1)) ||
		    v > 1024 * 1024)
			argp_error(state, "invalid ring buffer size '%s' KiB (a power of two, 4 to 1048576)", arg);
		opts.ringbuf_kib = v;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static char *help_filter(int key, const char *text, void *input)
{
	char *s;

	(void)input;
	/* The event list lives in one table: print it from there */
	if (key != ARGP_KEY_HELP_POST_DOC)
		return (char *)text;
	if (asprintf(&s, "Events: %s", event_names_help()) < 0)
		return NULL;
	return s;
}

/* The summary's reason for a fault record, or NULL for other records */
static const char *fault_reason(const struct iommufd_event *e, size_t size,
				char *buf, size_t len)
{
	static const char *const codes[] = { "success", "invalid", "failure" };

	switch (e->type) {
	case IOMMUFD_EV_DMA_FAULT:
		snprintf(buf, len, "%s%s", dma_fault_reason(e, event_dma_fault(e, size)),
			 e->flags & IOMMUFD_DMA_FAULT_AFTER_UNMAP ?
				" (DMA after unmap)" : "");
		return buf;
	case IOMMUFD_EV_FAULT_REPORT:
		return "I/O page fault group reported";
	case IOMMUFD_EV_FAULT_READ:
		return "I/O page fault group read by the VMM";
	case IOMMUFD_EV_FAULT_RESPOND:
		snprintf(buf, len, "I/O page fault group answered %s",
			 e->code < 3 ? codes[e->code] : "?");
		return buf;
	case IOMMUFD_EV_FAULT_AUTO_RESPOND:
		return "I/O page fault groups answered by the kernel";
	default:
		return NULL;
	}
}

static void count_fault(const struct iommufd_event *e, size_t size)
{
	const struct iommufd_dma_fault_detail *f = event_dma_fault(e, size);
	const char *device = f ? f->device : "";
	struct fault_row *row;
	const char *reason;
	char buf[80];
	unsigned int i;

	reason = fault_reason(e, size, buf, sizeof(buf));
	if (!reason)
		return;
	for (i = 0; i < st.nr_rows; i++) {
		row = &st.rows[i];
		if (row->owner_tgid == e->owner_tgid &&
		    row->dev_id == e->dev_id &&
		    !strncmp(row->device, device, sizeof(row->device)) &&
		    !strcmp(row->reason, reason))
			goto found;
	}
	if (st.nr_rows == FAULT_ROWS_MAX) {
		st.rows_overflow++;
		return;
	}
	row = &st.rows[st.nr_rows++];
	row->owner_tgid = e->owner_tgid;
	row->dev_id = e->dev_id;
	snprintf(row->device, sizeof(row->device), "%.31s", device);
	snprintf(row->reason, sizeof(row->reason), "%s", reason);
found:
	/* An auto-response record stands for 'count' groups */
	row->count += e->type == IOMMUFD_EV_FAULT_AUTO_RESPOND ? e->count : 1;
}

/*
 * Only dma_fault records name the device: give its name to the rows of
 * the same owner and device id that lack it.
 */
static void name_fault_rows(void)
{
	unsigned int i, j;

	for (i = 0; i < st.nr_rows; i++) {
		struct fault_row *r = &st.rows[i];

		for (j = 0; !r->device[0] && r->dev_id && j < st.nr_rows; j++)
			if (st.rows[j].device[0] &&
			    st.rows[j].owner_tgid == r->owner_tgid &&
			    st.rows[j].dev_id == r->dev_id)
				memcpy(r->device, st.rows[j].device,
				       sizeof(r->device));
	}
}

static void print_fault_summary(void)
{
	unsigned int i;

	name_fault_rows();
	for (i = 0; i < st.nr_rows; i++) {
		const struct fault_row *r = &st.rows[i];

		if (opts.json) {
			struct json_writer w;

			json_begin(&w, stdout);
			json_str(&w, "event", "fault_summary");
			json_s64(&w, "owner_tgid", r->owner_tgid);
			json_u64(&w, "dev_id", r->dev_id);
			json_strn(&w, "device", r->device, sizeof(r->device));
			json_strn(&w, "reason", r->reason, sizeof(r->reason));
			json_u64(&w, "count", r->count);
			json_end(&w);
			continue;
		}
		if (!i)
			fprintf(stderr, "Faults by owner, device and reason:\n%8s %6s %-16s %8s  %s\n",
				"OWNER", "DEV", "DEVICE", "COUNT", "REASON");
		fprintf(stderr, "%8d %6u %-16s %8llu  %s\n", r->owner_tgid,
			r->dev_id, r->device[0] ? r->device : "-",
			(unsigned long long)r->count, r->reason);
	}
	if (!st.nr_rows && !opts.json)
		fprintf(stderr, "No faults.\n");
	if (st.rows_overflow)
		warnx_("%llu faults of more than %d owner/device/reason rows were not summarised",
		       (unsigned long long)st.rows_overflow, FAULT_ROWS_MAX);
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct iommufd_event *e = data;

	(void)ctx;
	/* One poll hands over every record ready: --count stops at N */
	if (size < sizeof(*e) ||
	    (opts.max_events && st.delivered >= opts.max_events))
		return 0;
	st.delivered++;
	if (opts.faults)
		count_fault(e, size);
	if (opts.json)
		print_event_json(stdout, e, size);
	else
		print_event_text(stdout, e, size);
	if (opts.max_events && st.delivered >= opts.max_events)
		exit_requested = 1;
	return 0;
}

/*
 * While records are being dropped, say so once a second on stderr, with
 * what helps: the summary at exit comes too late for a storm.
 */
static void report_drops(struct iommufd_trace_bpf *skel, uint64_t now)
{
	static uint64_t last_ns, last_dropped, last_produced;
	__u64 cnt[IOMMUFD_CNT_MAX];
	uint64_t dropped, produced;

	if (!last_ns)
		last_ns = now;
	if (now - last_ns < 1000000000ull ||
	    trace_counters_read(skel, cnt))
		return;
	dropped = cnt[IOMMUFD_CNT_DROPPED] - last_dropped;
	produced = cnt[IOMMUFD_CNT_PRODUCED] - last_produced;
	if (dropped)
		fprintf(stderr, "trace: %llu of %llu records dropped in the last %.1f s: the ring buffer is full. A larger --ringbuf-kib or a filter (-p, --ioas, --dev, -e) may help; 'iommufd-bpf top' and 'metrics' count in the kernel and lose nothing.\n",
			(unsigned long long)dropped,
			(unsigned long long)produced, (now - last_ns) / 1e9);
	last_ns = now;
	last_dropped = cnt[IOMMUFD_CNT_DROPPED];
	last_produced = cnt[IOMMUFD_CNT_PRODUCED];
}

/* @mask's event names, comma-separated, in @buf */
static const char *event_mask_names(__u32 mask, char *buf, size_t len)
{
	size_t used = 0;
	unsigned int t;

	buf[0] = 0;
	for (t = 1; t < IOMMUFD_EV_MAX && used < len; t++)
		if (mask & (1u << t))
			used += snprintf(buf + used, len - used, "%s%s",
					 used ? ", " : "",
					 event_type_name(t) ?: "?");
	return buf;
}

/*
 * The events to trace on this kernel: those asked for that it can produce.
 * Says on stderr what is missing (a reduced mode), or fails when nothing
 * asked for can be traced.
 */
static int choose_events(const struct kernel_features *kf, __u32 *events)
{
	char names[1024], missing_names[1024], *line;
	__u32 missing;

	if (!kf->iommufd) {
		warnx_("this kernel has no iommufd: it needs CONFIG_IOMMUFD=y");
		return -1;
	}
	*events = trace_events_available(kf, opts.event_mask, opts.fallback);
	missing = opts.event_mask & ~*events;
	if (!*events && opts.fallback) {
		warnx_("--fallback traces %s only, not %s",
		       event_mask_names(trace_events_available(kf,
				IOMMUFD_EV_MASK_ALL, true), missing_names,
				sizeof(missing_names)),
		       event_mask_names(missing, names, sizeof(names)));
		return -1;
	}
	if (!*events) {
		warnx_("none of the events asked for can be traced on this kernel (%s): they need the iommufd-bpf series ('iommufd-bpf probe' lists what is there)",
		       event_mask_names(missing, names, sizeof(names)));
		return -1;
	}
	if (kf->series && !opts.fallback) {
		/* Only the VT-d driver's events can be missing here */
		if (missing && opts.events_given)
			warnx_("not traced, this kernel lacks them: %s",
			       event_mask_names(missing, names, sizeof(names)));
		return 0;
	}
	if (asprintf(&line, "%s from fentry/fexit on iommufd's functions, without the context id%s%s",
		     event_mask_names(*events, names, sizeof(names)),
		     missing ? "; missing: " : "",
		     missing ? event_mask_names(missing, missing_names,
						sizeof(missing_names)) : "") < 0)
		return -1;
	if (kf->series)
		fprintf(stderr, "iommufd-bpf trace: --fallback: %s\n", line);
	else
		report_reduced_mode("trace", line);
	free(line);
	return 0;
}

int cmd_trace(int argc, char **argv)
{
	static const struct argp_child children[] = { COMMON_ARGP_CHILD, {} };
	static const struct argp argp = {
		.children = children,
		.options = options, .parser = parse_opt, .doc = doc,
		.help_filter = help_filter,
	};
	struct iommufd_trace_bpf *skel = NULL;
	struct ring_buffer *rb = NULL;
	struct kernel_features kf;
	__u64 cnt[IOMMUFD_CNT_MAX];
	__u32 events;
	uint64_t deadline = 0, now;
	int err;

	err = argp_parse(&argp, argc, argv, 0, NULL, NULL);
	if (err)
		return EXIT_USAGE;

	setup_libbpf_logging();
	if (check_bpf_privileges())
		return EXIT_FAIL;
	if (kernel_features_probe(&kf)) {
		warnx_("no kernel BTF at /sys/kernel/btf/vmlinux: the kernel needs CONFIG_DEBUG_INFO_BTF=y");
		return EXIT_FAIL;
	}
	if (choose_events(&kf, &events))
		return EXIT_FAIL;

	skel = iommufd_trace_bpf__open();
	if (!skel) {
		warnx_("cannot open the BPF object: %s", strerror(errno));
		return EXIT_FAIL;
	}
	skel->rodata->filter_owner_tgid = opts.common.owner_tgid;
	skel->rodata->filter_ioas_id = opts.ioas_id;
	skel->rodata->filter_dev_id = opts.dev_id;
	skel->rodata->event_mask = events;
	skel->rodata->track_unmaps =
		!!(events & (1u << IOMMUFD_EV_DMA_FAULT));
	trace_select_programs(skel, &kf, events, opts.fallback);
	if (opts.ringbuf_kib)
		bpf_map__set_max_entries(skel->maps.events,
					 opts.ringbuf_kib * 1024);

	err = iommufd_trace_bpf__load(skel);
	if (err) {
		warnx_("cannot load the BPF programs: %s (run with -v for the verifier log)",
		       strerror(-err));
		goto out;
	}
	err = iommufd_trace_bpf__attach(skel);
	if (err) {
		warnx_("cannot attach to the iommufd %s: %s",
		       kf.series && !opts.fallback ? "trace events" :
						     "ioctl handlers",
		       strerror(-err));
		goto out;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_event, NULL,
			      NULL);
	if (!rb) {
		err = -errno;
		warnx_("cannot set up the ring buffer: %s", strerror(-err));
		goto out;
	}
	/* Attached: nothing below needs a privilege */
	err = drop_all_capabilities();
	if (err)
		goto out;

	catch_exit_signals();
	if (opts.common.duration_ns)
		deadline = monotonic_ns() + opts.common.duration_ns;
	fprintf(stderr, "Tracing iommufd %s%s. Ctrl-C to end.\n",
		opts.faults ? "faults" : "events",
		opts.json ? " as JSON lines" : "");

	while (!exit_requested) {
		/*
		 * The producers wake us once every 1,024 records: after a
		 * quiet tick, take what is there
		 */
		err = ring_buffer__poll(rb, 100);
		if (err == 0)
			err = ring_buffer__consume(rb);
		/* A stop and continue (^Z, fg) interrupts the wait too */
		if (err == -EINTR) {
			err = 0;
			continue;
		}
		if (err < 0) {
			warnx_("polling the ring buffer: %s", strerror(-err));
			goto out;
		}
		err = 0;
		now = monotonic_ns();
		if (deadline && now >= deadline)
			break;
		report_drops(skel, now);
		fflush(stdout);
	}

	/* Stop producing, then drain, so the accounting below is exact */
	iommufd_trace_bpf__detach(skel);
	if (!opts.max_events || st.delivered < opts.max_events)
		ring_buffer__consume(rb);
	err = trace_counters_read(skel, cnt);
	if (err) {
		warnx_("cannot read the event counters: %s", strerror(-err));
		goto out;
	}
	if (!opts.max_events)
		st.gaps = records_lost(skel->bss->next_seq, st.delivered);
	if (opts.faults)
		print_fault_summary();
	if (opts.json) {
		struct json_writer w;

		json_begin(&w, stdout);
		json_str(&w, "event", "summary");
		json_u64(&w, "produced", cnt[IOMMUFD_CNT_PRODUCED]);
		json_u64(&w, "delivered", st.delivered);
		json_u64(&w, "dropped", cnt[IOMMUFD_CNT_DROPPED]);
		json_u64(&w, "filtered", cnt[IOMMUFD_CNT_FILTERED]);
		json_u64(&w, "seq_gaps", st.gaps);
		json_end(&w);
	}
	fflush(stdout);
	fprintf(stderr, "%llu produced, %llu delivered, %llu dropped, %llu filtered; %llu sequence gaps\n",
		(unsigned long long)cnt[IOMMUFD_CNT_PRODUCED],
		(unsigned long long)st.delivered,
		(unsigned long long)cnt[IOMMUFD_CNT_DROPPED],
		(unsigned long long)cnt[IOMMUFD_CNT_FILTERED],
		(unsigned long long)st.gaps);
	/* With --count the tail may stay undelivered on purpose */
	if (!opts.max_events &&
	    (cnt[IOMMUFD_CNT_PRODUCED] != st.delivered +
		     cnt[IOMMUFD_CNT_DROPPED] + cnt[IOMMUFD_CNT_FILTERED] ||
	     st.gaps != cnt[IOMMUFD_CNT_DROPPED])) {
		warnx_("accounting mismatch: produced != delivered + dropped + filtered, or sequence gaps != dropped");
		err = -EPROTO;
	}
out:
	ring_buffer__free(rb);
	iommufd_trace_bpf__destroy(skel);
	return err ? EXIT_FAIL : EXIT_OK;
}
