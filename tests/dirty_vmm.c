// SPDX-License-Identifier: GPL-2.0-only
/*
 * dirty_vmm: a VMM-shaped process whose device dirties memory, for the
 * dirty-tracking demo and tests. Its "guest RAM" is SIZE of IOVA on a
 * dirty-tracking HWPT of the iommufd selftest mock (mock_device.c); a device
 * model thread writes to it at a rate and pattern (dirty_model.c), and the
 * main thread harvests the dirty bitmap every INTERVAL as a VMM's pre-copy
 * loop does. It reports what each harvest's bitmap held, so what
 * 'iommufd-bpf dirty -p PID' counts from the kernel's dirty runs can be
 * checked against it. The harvest numbered 0 clears what was dirty before
 * the device model started.
 */
#include <argp.h>
#include <err.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "dirty_model.h"
#include "json_writer.h"
#include "mock_device.h"

/* One harvest ioctl covers at most this much, so progress can be shown */
#define HARVEST_CHUNK (1ULL << 30)
/* Harvests longer than this print a progress line */
#define PROGRESS_AFTER_NS 1000000000ULL
/* Memory behind the IOVA, mapped again and again */
#define MAX_BACKING (256ULL << 20)

static struct {
	uint64_t size;
	double rate;
	enum dirty_pattern pattern;
	double hot_percent;
	uint64_t page_size;
	uint64_t interval_ns;
	uint32_t count;
	bool json;
} opts = {
	.rate = 64.0 * (1 << 20),
	.hot_percent = 10,
	.page_size = 4096,
	.interval_ns = 1000000000ULL,
};

enum { OPT_RATE = 0x100, OPT_PATTERN, OPT_PAGE_SIZE };

static const struct argp_option options[] = {
	{ "rate", OPT_RATE, "RATE", 0, "Bytes the device writes per second (default 64MiB/s)", 0 },
	{ "pattern", OPT_PATTERN, "P", 0, "Pages it writes: uniform (default, any at random), hot[:PCT] (a hot set, the first PCT%, default 10%), sweep (page after page)", 0 },
	{ "page-size", OPT_PAGE_SIZE, "SIZE", 0, "Bitmap page size of the harvests, a power of two from 4KiB to 2MiB (default 4KiB)", 0 },
	{ "json", 'j', NULL, 0, "One JSON object per line instead of text", 0 },
	{},
};

static const char doc[] =
	"A VMM-shaped process for watching dirty tracking without a VM: it maps\n"
	"SIZE of IOVA on a dirty-tracking HWPT of the iommufd selftest mock\n"
	"(CONFIG_IOMMUFD_TEST), lets a device model write to it, and harvests the\n"
	"dirty bitmap every INTERVAL (default 1s) COUNT times (default: until\n"
	"SIGINT), as a pre-copy loop does. Harvest 0 clears the bitmap before the\n"
	"device starts. Per harvest it prints the pages its bitmap held dirty.\n"
	"\n"
	"EXAMPLES:\n"
	"  dirty_vmm --rate 40MiB/s --pattern hot:10% 256M 1s 4\n"
	"  iommufd-bpf dirty -p PID    # what the kernel saw of its harvests\n"
	"\n"
	"To watch it from harvest 0, hold it until a watcher filtering on its pid\n"
	"is attached:\n"
	"  mkfifo go; sh -c 'read x < go; exec dirty_vmm 64M 1s 5' &\n"
	"  iommufd-bpf dirty -p $! &    # once it says \"watching\":\n"
	"  echo > go\n"
	"\n"
	"Exit status: 0 on success (also when ended by SIGINT/SIGTERM), 1 on\n"
	"failure, 2 on bad usage.\n";

static int parse_power_of_two(const char *arg, uint64_t min, uint64_t max,
			      uint64_t *out)
{
	if (parse_size(arg, out) || *out < min || *out > max ||
	    (*out & (*out - 1)))
		return -1;
	return 0;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case OPT_RATE:
		if (parse_rate(arg, &opts.rate))
			argp_error(state, "--rate: '%s' is not a rate (e.g. 64MiB/s)", arg);
		break;
	case OPT_PATTERN:
		if (dirty_pattern_parse(arg, &opts.pattern, &opts.hot_percent))
			argp_error(state, "--pattern: '%s' is not uniform, hot[:PCT] or sweep", arg);
		break;
	case OPT_PAGE_SIZE:
		if (parse_power_of_two(arg, 4096, 2ULL << 20, &opts.page_size))
			argp_error(state, "--page-size: '%s' is not a power of two from 4KiB to 2MiB", arg);
		break;
	case 'j':
		opts.json = true;
		break;
	case ARGP_KEY_ARG:
		if (state->arg_num == 0) {
			if (parse_size(arg, &opts.size) ||
			    opts.size % (2ULL << 20))
				argp_error(state, "size: '%s' is not a multiple of 2MiB", arg);
		} else if (state->arg_num == 1) {
			if (parse_duration(arg, &opts.interval_ns))
				argp_error(state, "interval: '%s' is not a duration (e.g. 1s)", arg);
		} else if (state->arg_num == 2) {
			if (parse_u32(arg, &opts.count) || !opts.count)
				argp_error(state, "count: '%s' is not a positive number", arg);
		} else {
			argp_error(state, "unexpected argument '%s'", arg);
		}
		break;
	case ARGP_KEY_END:
		if (!opts.size)
			argp_error(state, "a SIZE of IOVA to map is required (e.g. 64M)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* What one harvest's bitmap held */
struct harvest_result {
	uint32_t number;
	uint64_t dirty_pages;
	uint64_t window_ns;	/* since the previous harvest ended */
	uint64_t harvest_ns;
};

static uint64_t popcount_bitmap(const uint64_t *b, uint64_t nbits)
{
	uint64_t i, n = 0;

	for (i = 0; i < nbits / 64; i++)
		n += __builtin_popcountll(b[i]);
	if (nbits % 64)
		n += __builtin_popcountll(b[i] & ((1ULL << (nbits % 64)) - 1));
	return n;
}

/* Harvest all of the IOVA in chunks, with a progress line if slow */
static int harvest(struct mock_hwpt *m, uint64_t *bitmap, uint64_t *ns)
{
	uint64_t start = monotonic_ns(), done, chunk, bits_per_chunk;
	bool progress = false;
	int err = 0;

	bits_per_chunk = HARVEST_CHUNK / opts.page_size;
	for (done = 0; done < m->length && !err; done += chunk) {
		chunk = m->length - done < HARVEST_CHUNK ? m->length - done :
							   HARVEST_CHUNK;
		err = mock_hwpt_harvest(m, m->iova + done, chunk, opts.page_size,
					bitmap + done / HARVEST_CHUNK *
						 bits_per_chunk / 64, 0);
		if (!err && done + chunk < m->length &&
		    monotonic_ns() - start > PROGRESS_AFTER_NS) {
			warnx("harvested %.1f of %.1f GiB",
			      (done + chunk) / 1073741824.0,
			      m->length / 1073741824.0);
			progress = true;
		}
	}
	if (progress && !err)
		warnx("harvest done in %.1f s", (monotonic_ns() - start) / 1e9);
	*ns = monotonic_ns() - start;
	return err;
}

static void report(const struct mock_hwpt *m, const struct harvest_result *r)
{
	double bytes = (double)r->dirty_pages * opts.page_size;
	char buf[32];

	if (opts.json) {
		struct json_writer w;

		json_begin(&w, stdout);
		json_str(&w, "type", "iteration");
		json_u64(&w, "iteration", r->number);
		json_s64(&w, "owner_tgid", getpid());
		json_u64(&w, "hwpt_id", m->hwpt_id);
		json_u64(&w, "length", m->length);
		json_u64(&w, "page_size", opts.page_size);
		json_u64(&w, "dirty_pages", r->dirty_pages);
		json_u64(&w, "window_ns", r->window_ns);
		json_u64(&w, "harvest_ns", r->harvest_ns);
		json_end(&w);
	} else if (!r->number) {
		printf("#0    cleared %llu pages dirty before the device started; harvest took %.2f ms\n",
		       (unsigned long long)r->dirty_pages, r->harvest_ns / 1e6);
	} else {
		printf("#%-4u %llu pages (%s) dirty in %.2fs; harvest took %.2f ms\n",
		       r->number, (unsigned long long)r->dirty_pages,
		       format_size(bytes, buf, sizeof(buf)), r->window_ns / 1e9,
		       r->harvest_ns / 1e6);
	}
	fflush(stdout);
}

static void sleep_interval(uint64_t ns)
{
	uint64_t end = monotonic_ns() + ns;

	while (!exit_requested && monotonic_ns() < end) {
		uint64_t left = end - monotonic_ns();
		struct timespec ts = { 0, left > 100000000ULL ? 100000000ULL : left };

		nanosleep(&ts, NULL);
	}
}

/* One harvest into @r: the pages its bitmap held and how long it took */
static int harvest_once(struct mock_hwpt *m, uint64_t *bitmap,
			struct harvest_result *r)
{
	uint64_t nbits = m->length / opts.page_size;
	int err;

	memset(bitmap, 0, (nbits + 63) / 64 * sizeof(*bitmap));
	err = harvest(m, bitmap, &r->harvest_ns);
	if (err) {
		warnx("IOMMU_HWPT_GET_DIRTY_BITMAP: %s", strerror(-err));
		return err;
	}
	r->dirty_pages = popcount_bitmap(bitmap, nbits);
	return 0;
}

/* Harvest 0, start the device, then harvest every interval; 0 or -errno */
static int run(struct mock_hwpt *m, struct dirty_model *dm)
{
	uint64_t nbits = m->length / opts.page_size, harvested = 0;
	struct harvest_result r = {};
	uint64_t last_end, *bitmap;
	int err, model_err;

	bitmap = calloc((nbits + 63) / 64, sizeof(*bitmap));
	if (!bitmap)
		return -ENOMEM;
	/* Whatever was dirty before the device model ran is not its */
	err = harvest_once(m, bitmap, &r);
	if (err)
		goto out;
	report(m, &r);
	err = dirty_model_start(dm);
	if (err) {
		warnx("cannot start the device model: %s", strerror(-err));
		goto out;
	}
	last_end = monotonic_ns();
	while (!exit_requested && (!opts.count || r.number < opts.count)) {
		sleep_interval(opts.interval_ns);
		if (exit_requested)
			break;
		err = harvest_once(m, bitmap, &r);
		if (err)
			break;
		/* As a watcher sees it: from one harvest's end to the next's */
		r.window_ns = monotonic_ns() - last_end;
		last_end = monotonic_ns();
		r.number++;
		harvested += r.dirty_pages;
		report(m, &r);
		if (dm->err)
			break;
	}
	model_err = dirty_model_stop(dm);
	if (model_err)
		warnx("device model: %s", strerror(-model_err));
	err = err ?: model_err;
	if (opts.json) {
		struct json_writer w;

		json_begin(&w, stdout);
		json_str(&w, "type", "summary");
		json_u64(&w, "iterations", r.number);
		json_u64(&w, "pages_written", dm->pages_written);
		json_u64(&w, "pages_harvested", harvested);
		json_end(&w);
	} else {
		printf("device model wrote %llu pages; %llu harvested dirty in %u harvest%s\n",
		       (unsigned long long)dm->pages_written,
		       (unsigned long long)harvested, r.number,
		       r.number == 1 ? "" : "s");
	}
out:
	free(bitmap);
	return err;
}

int main(int argc, char **argv)
{
	static const struct argp argp = {
		.options = options, .parser = parse_arg,
		.args_doc = "SIZE [INTERVAL [COUNT]]", .doc = doc,
	};
	struct mock_hwpt m;
	struct dirty_model dm = {};
	int err;

	argp_err_exit_status = EXIT_USAGE;
	stdout_survives_signals();
	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	catch_exit_signals();

	err = mock_hwpt_create(&m, opts.size, MAX_BACKING);
	if (!err) {
		err = mock_hwpt_set_tracking(&m, true);
		if (err)
			warnx("IOMMU_HWPT_SET_DIRTY_TRACKING: %s", strerror(-err));
	}
	if (err) {
		mock_hwpt_destroy(&m);
		return EXIT_FAIL;
	}
	/* stderr: JSON consumers of stdout do not see it */
	fprintf(stderr, "dirty_vmm: pid %d, mock HWPT %u: %.2f GiB of IOVA, device writes %.1f MiB/s (%s), harvest every %.2fs\n",
		getpid(), m.hwpt_id, m.length / 1073741824.0,
		opts.rate / 1048576, dirty_pattern_name(opts.pattern),
		opts.interval_ns / 1e9);

	dm.hwpt = &m;
	dm.rate = opts.rate;
	dm.pattern = opts.pattern;
	dm.hot_percent = opts.hot_percent;
	err = run(&m, &dm);
	mock_hwpt_destroy(&m);
	return err ? EXIT_FAIL : EXIT_OK;
}
