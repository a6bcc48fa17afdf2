// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iommufd-bpf probe: what each command can show on the running kernel, and
 * where it gets it from: the iommufd-bpf series, the fallback, or nowhere.
 */
#include <argp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "common.h"
#include "json_writer.h"
#include "kernel_features.h"
#include "subcommands.h"

static struct probe_opts {
	bool json;
} opts;

static const struct argp_option options[] = {
	{ "json", 'j', NULL, 0, "One JSON object instead of a table", 0 },
	{},
};

static const char doc[] =
	"Report what the running kernel offers iommufd-bpf: for each capability,\n"
	"the commands that show it and its source there: the iommufd-bpf kernel\n"
	"series' trace events, the fallback (fentry/fexit on iommufd's functions,\n"
	"with fewer fields), or missing. Reads the kernel's BTF; needs no privilege.\n"
	"\n"
	"EXAMPLES:\n"
	"  iommufd-bpf probe\n"
	"  iommufd-bpf probe --json\n"
	"\n"
	"Exit status: 0, or 1 when the kernel has no BTF.";

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	switch (key) {
	case 'j':
		opts.json = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

struct capability {
	const char *name;	/* stable, for --json */
	const char *what;
	const char *commands;
	enum feature_source source;
	const char *how;	/* the source's detail, or why it is missing */
};

static const char *const source_names[] = {
	[SOURCE_NONE] = "missing",
	[SOURCE_SERIES] = "series",
	[SOURCE_FEXIT] = "fexit",
};

#define NEEDS_SERIES "needs the iommufd-bpf series"

/* The table, from what the kernel has */
static size_t capabilities(const struct kernel_features *kf,
			   struct capability *c)
{
	enum feature_source series = kf->series ? SOURCE_SERIES : SOURCE_NONE;
	const char *series_how = kf->series ? "iommufd:* trace events" :
					      NEEDS_SERIES;
	size_t n = 0;

	c[n++] = (struct capability){
		"ioas_ops", "IOAS map, unmap and copy records", "trace",
		kf->series ? SOURCE_SERIES :
		kf->ioas_ioctls ? SOURCE_FEXIT : SOURCE_NONE,
		kf->series ? "iommufd:iommufd_ioas_{map,unmap,copy}" :
		kf->ioas_ioctls ? "fexit on iommufd_ioas_{map,unmap,copy}; no context id" :
		"needs the series, or iommufd_ioas_{map,unmap,copy} in BTF" };
	c[n++] = (struct capability){
		"ioas_stats", "IOAS operation counts, bytes and latency",
		"top, hist, metrics",
		kf->series ? SOURCE_SERIES :
		kf->ioas_ioctls && kf->object_ends ? SOURCE_FEXIT : SOURCE_NONE,
		kf->series ? series_how :
		kf->ioas_ioctls && kf->object_ends ?
		"fexit on iommufd_ioas_{map,unmap,copy}; contexts numbered by the tool" :
		"needs the series, or iommufd_ioas_{map,unmap,copy}, iommufd_destroy and iommufd_fops_release in BTF" };
	c[n++] = (struct capability){
		"attach", "device attach, detach and replace, PASIDs included",
		"trace, top, metrics",
		kf->series ? SOURCE_SERIES :
		kf->device_attach ? SOURCE_FEXIT : SOURCE_NONE,
		kf->series ? series_how :
		kf->device_attach ? "fentry/fexit on iommufd_device_{attach,replace,detach}: trace only" :
		"needs the series, or iommufd_device_{attach,replace,detach} in BTF" };
	c[n++] = (struct capability){
		"iotlb_flush", "IOTLB flushes iommufd asks for, user invalidations",
		"trace, top, hist, metrics", series, series_how };
	c[n++] = (struct capability){
		"iotlb_wait", "how long the IOMMU takes to invalidate (VT-d)",
		"trace, top, hist, metrics",
		kf->qi_wait ? SOURCE_SERIES : SOURCE_NONE,
		kf->qi_wait ? "intel_iommu:qi_wait" :
		kf->series ? "no VT-d driver in this kernel" :
		kf->qi_submit ? NEEDS_SERIES " (intel_iommu:qi_submit has no duration)" :
		NEEDS_SERIES };
	c[n++] = (struct capability){
		"io_page_faults", "I/O page faults: report, read, answer, latency",
		"trace --faults, top, hist, metrics",
		kf->series ? SOURCE_SERIES :
		kf->iopf_functions ? SOURCE_FEXIT : SOURCE_NONE,
		kf->series ? series_how :
		kf->fault_fd_read ? "fentry on iommufd_fault_iopf_handler, iopf_group_response; fexit on iommufd_fault_fops_read (the read); no owner of a report" :
		kf->iopf_functions ? "fentry on iommufd_fault_iopf_handler, iopf_group_response; no read step, no owner of a report" :
		"needs the series, or iommufd_fault_iopf_handler and iopf_group_response in BTF" };
	c[n++] = (struct capability){
		"dma_faults", "unrecoverable DMA faults, by iommufd device",
		"trace --faults, top, metrics", series,
		kf->series ? series_how :
		kf->io_page_fault ? NEEDS_SERIES " (iommu:io_page_fault names no iommufd device)" :
		NEEDS_SERIES };
	c[n++] = (struct capability){
		"fault_policies", "BPF policies answering I/O page faults",
		"fault attach", kf->fault_ops ? SOURCE_SERIES : SOURCE_NONE,
		kf->fault_ops ? "struct_ops iommufd_fault_ops" :
		NEEDS_SERIES " (struct_ops iommufd_fault_ops): no fallback" };
	c[n++] = (struct capability){
		"dirty", "dirty-bit harvests, dirty rate and forecast", "dirty",
		kf->dirty_events ? SOURCE_SERIES :
		kf->dirty_ioctl ? SOURCE_FEXIT : SOURCE_NONE,
		kf->dirty_events ? "iommufd:iommufd_dirty_*" :
		kf->dirty_ioctl ? "fexit on iommufd_hwpt_get_dirty_bitmap, fentry on iova_bitmap_set; no IOTLB flushes" :
		"needs the series, or iommufd_hwpt_get_dirty_bitmap and iova_bitmap_set in BTF" };
	c[n++] = (struct capability){
		"lifecycle", "contexts and objects created and destroyed",
		"trace, top, metrics", series, series_how };
	c[n++] = (struct capability){
		"pinned", "pinned pages per process", "trace, top, metrics",
		series, series_how };
	return n;
}

static void print_json(const struct utsname *u,
		       const struct kernel_features *kf,
		       const struct capability *c, size_t n)
{
	struct json_writer w;
	size_t i;

	json_begin(&w, stdout);
	json_str(&w, "kernel", u->release);
	json_bool(&w, "btf", kf->btf);
	json_bool(&w, "iommufd", kf->iommufd);
	json_bool(&w, "series", kf->series);
	json_array(&w, "capabilities");
	for (i = 0; i < n; i++) {
		json_object(&w, NULL);
		json_str(&w, "name", c[i].name);
		json_str(&w, "commands", c[i].commands);
		json_str(&w, "source", source_names[c[i].source]);
		json_str(&w, "detail", c[i].how);
		json_object_end(&w);
	}
	json_array_end(&w);
	json_object(&w, "kernel_events");
	json_bool(&w, "iommu:io_page_fault", kf->io_page_fault);
	json_bool(&w, "intel_iommu:qi_submit", kf->qi_submit);
	json_bool(&w, "intel_iommu:qi_wait", kf->qi_wait);
	json_bool(&w, "intel_iommu:dmar_fault", kf->dmar_fault);
	json_object_end(&w);
	json_end(&w);
}

static void print_text(const struct utsname *u,
		       const struct kernel_features *kf,
		       const struct capability *c, size_t n)
{
	size_t i;

	printf("Kernel %s: BTF yes, iommufd %s, iommufd-bpf series %s\n\n",
	       u->release, kf->iommufd ? "yes" : "no",
	       kf->series ? "yes" : "no");
	printf("%-15s %-8s %-36s %s\n", "CAPABILITY", "SOURCE", "COMMANDS",
	       "DETAIL");
	for (i = 0; i < n; i++)
		printf("%-15s %-8s %-36s %s\n", c[i].name,
		       source_names[c[i].source], c[i].commands, c[i].how);
	printf("\nThe IOMMU drivers' own events: iommu:io_page_fault %s, intel_iommu:qi_submit %s\n",
	       kf->io_page_fault ? "yes" : "no", kf->qi_submit ? "yes" : "no");
}

int cmd_probe(int argc, char **argv)
{
	static const struct argp argp = {
		.options = options, .parser = parse_opt, .doc = doc,
	};
	struct capability c[16];
	struct kernel_features kf;
	struct utsname u;
	size_t n;

	if (argp_parse(&argp, argc, argv, 0, NULL, NULL))
		return EXIT_USAGE;
	if (kernel_features_probe(&kf)) {
		warnx_("no kernel BTF at /sys/kernel/btf/vmlinux: the kernel needs CONFIG_DEBUG_INFO_BTF=y, and every command needs it");
		return EXIT_FAIL;
	}
	uname(&u);
	n = capabilities(&kf, c);
	if (opts.json)
		print_json(&u, &kf, c, n);
	else
		print_text(&u, &kf, c, n);
	return EXIT_OK;
}
