// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * iommufd-bpf fault: attach, list, inspect and detach fault policies
 * (iommufd_fault_ops struct_ops) that answer I/O page faults of one iommufd
 * fault object in the kernel.
 */
#include <argp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "common.h"
#include "kernel_features.h"
#include "json_writer.h"
#include "fault_policy.h"
#include "fault_policies.h"
#include "percpu_counters.h"
#include "subcommands.h"

#define PIN_ROOT "/sys/fs/bpf/iommufd-bpf/fault"
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static const char *const stat_names[FAULT_STAT_MAX] = {
	[FAULT_STAT_GROUPS] = "groups",
	[FAULT_STAT_SUCCESS] = "success",
	[FAULT_STAT_INVALID] = "invalid",
	[FAULT_STAT_DEFER] = "defer",
	[FAULT_STAT_UNGOVERNED] = "ungoverned",
	[FAULT_STAT_OUTSIDE] = "outside",
	[FAULT_STAT_OVER_BUDGET] = "over_budget",
	[FAULT_STAT_NOTIFIED] = "notified",
	[FAULT_STAT_NOTIFY_LOST] = "notify_lost",
	[FAULT_STAT_MAPPED] = "mapped",
	[FAULT_STAT_UNMAPPED] = "unmapped",
	[FAULT_STAT_BUSY] = "busy",
	[FAULT_STAT_LOOKUP_ERROR] = "lookup_error",
};

static const char *exit_kind_name(__u32 kind)
{
	switch (kind) {
	case FAULT_EXIT_NONE: return "attached";
	case FAULT_EXIT_UNREG: return "detached";
	case FAULT_EXIT_FAULT_GONE: return "fault_gone";
	case FAULT_EXIT_BAD_VERDICT: return "ejected_bad_verdict";
	case FAULT_EXIT_ERROR: return "ejected_error";
	case FAULT_EXIT_STALL: return "ejected_stall";
	case FAULT_EXIT_RETRY_STORM: return "ejected_retry_storm";
	}
	return "unknown";
}

/* ---- options ---------------------------------------------------------- */

struct fault_opts {
	const char *action;
	const char *kind;	/* attach: the policy */
	const char *name;	/* pin / policy name */
	int fd;
	int32_t pid;
	bool pin, json;
	struct common_opts common;	/* -d, -v */
	uint64_t interval_ns;
	struct fault_window_spec windows[64];
	unsigned int nr_windows;
	struct fault_storm_config storm;
};

static const char doc[] =
"Attach a fault policy to one iommufd fault object, so the kernel answers its\n"
"I/O page faults without a round trip to the fault fd; list, inspect and\n"
"detach policies.\n"
"\n"
"  iommufd-bpf fault attach POLICY --fd FD [--pid PID] [OPTION...]\n"
"  iommufd-bpf fault list [--json]\n"
"  iommufd-bpf fault stats NAME [--json]\n"
"  iommufd-bpf fault detach NAME\n"
"\n"
"POLICY is one of:\n"
"  windows  a device (or one PASID of it) may fault only inside the IOVA\n"
"           windows given with --window: outside, the fault is answered\n"
"           INVALID at once; inside it goes to the fault fd\n"
"  storm    a token bucket per device and PASID (--rate, --burst): over\n"
"           budget a fault is answered INVALID at once and counted, and a\n"
"           notification is printed at most once a second per device\n"
"  resolve  a fault on IOVA the IOAS already maps with the permissions the\n"
"           device asked for (it raced a map) is answered SUCCESS; others\n"
"           go to the fault fd\n"
"\n"
"The fault object is named by its fault fd (IOMMU_FAULT_QUEUE_ALLOC): --fd\n"
"alone is a descriptor of this process; with --pid it is the descriptor of\n"
"that process (the VMM's), taken with pidfd_getfd(2). A fault object has at\n"
"most one policy. Without --pin the policy stays until this command ends\n"
"(-d, Ctrl-C); with --pin it is pinned under " PIN_ROOT "/NAME\n"
"and outlives the command until 'fault detach NAME'. Every fault the policy\n"
"does not answer goes to the fault fd as before, and so does every fault\n"
"after the kernel ejects a misbehaving policy (see 'fault stats').\n"
"\n"
"Needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN (and CAP_SYS_PTRACE with\n"
"--pid) in the initial user namespace; all are dropped once attached.\n"
"Exit status: 0 ok, 1 failure (message says why), 2 usage error.\n"
"\n"
"Examples:\n"
"  iommufd-bpf fault attach windows --pid 4242 --fd 17 --window 3@0+1G --pin\n"
"  iommufd-bpf fault attach storm --pid 4242 --fd 17 --rate 100 --burst 20\n"
"  iommufd-bpf fault stats windows --json\n"
"  iommufd-bpf fault detach windows\n"
"\v"
"--window DEV[.PASID]@START+SIZE allows IOVA [START, START+SIZE) to device\n"
"DEV (iommufd device id); .PASID restricts it to requests with that PASID,\n"
".none to requests without one; without it the window covers every request\n"
"of the device that has no more specific entry. Up to 8 windows per entry;\n"
"sizes take K, M, G units. Devices without a window are not governed.";

enum { OPT_WINDOW = 0x100, OPT_RATE, OPT_BURST };

static const struct argp_option options[] = {
	{ "fd", 'f', "FD", 0, "fault fd of the fault object to serve", 0 },
	{ "pid", 'p', "PID", 0, "FD is a descriptor of this process", 0 },
	{ "name", 'n', "NAME", 0, "policy name, pin directory (default: POLICY)", 0 },
	{ "pin", 'P', NULL, 0, "pin the policy so it outlives this command", 0 },
	{ "interval", 'i', "TIME", 0, "print counters every TIME while attached", 0 },
	{ "json", 'j', NULL, 0, "JSON lines", 0 },
	{ "window", OPT_WINDOW, "SPEC", 0, "windows: DEV[.PASID]@START+SIZE (repeatable)", 1 },
	{ "rate", OPT_RATE, "N", 0, "storm: faults per second per device and PASID", 1 },
	{ "burst", OPT_BURST, "N", 0, "storm: bucket size in faults (default: rate)", 1 },
	{ 0 }
};

static int parse_u64_num(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return errno || *end ? -1 : 0;
}

static bool valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n >= FAULT_POLICY_NAME_LEN || s[0] == '.')
		return false;
	for (i = 0; i < n; i++)
		if (!(s[i] == '-' || s[i] == '_' || s[i] == '.' ||
		      (s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

static error_t parse_arg(int key, char *arg, struct argp_state *state)
{
	struct fault_opts *o = state->input;
	uint32_t u;
	uint64_t v;

	switch (key) {
	case ARGP_KEY_INIT:
		state->child_inputs[0] = &o->common;
		break;
	case 'f':
		if (parse_u32(arg, &u) || u > INT_MAX)
			argp_error(state, "--fd: '%s' is not a file descriptor", arg);
		o->fd = u;
		break;
	case 'p':
		if (parse_pid(arg, &o->pid))
			argp_error(state, "--pid: '%s' is not a process id", arg);
		break;
	case 'n':
		if (!valid_name(arg))
			argp_error(state, "--name: '%s' is not a name (1-15 of A-Z a-z 0-9 . _ -)", arg);
		o->name = arg;
		break;
	case 'P':
		o->pin = true;
		break;
	case 'i':
		if (parse_duration(arg, &o->interval_ns))
			argp_error(state, "--interval: '%s' is not a duration (e.g. 1s)", arg);
		break;
	case 'j':
		o->json = true;
		break;
	case OPT_WINDOW:
		if (o->nr_windows == sizeof(o->windows) / sizeof(o->windows[0]))
			argp_error(state, "--window: at most %zu windows",
				   sizeof(o->windows) / sizeof(o->windows[0]));
		if (fault_parse_window(arg, &o->windows[o->nr_windows]))
			argp_error(state, "--window: '%s' is not DEV[.PASID]@START+SIZE (e.g. 3@0x100000+1M)", arg);
		o->nr_windows++;
		break;
	case OPT_RATE:
		if (parse_u64_num(arg, &v) || !v || v > 1000000)
			argp_error(state, "--rate: '%s' is not a rate of 1 to 1000000 faults per second", arg);
		o->storm.rate_per_sec = v;
		break;
	case OPT_BURST:
		if (parse_u64_num(arg, &v) || !v || v > 1000000)
			argp_error(state, "--burst: '%s' is not a bucket size of 1 to 1000000 faults", arg);
		o->storm.burst = v;
		break;
	case ARGP_KEY_ARG:
		if (!o->action)
			o->action = arg;
		else if (!strcmp(o->action, "attach") && !o->kind)
			o->kind = arg;
		else if ((!strcmp(o->action, "stats") ||
			  !strcmp(o->action, "detach")) && !o->name) {
			if (!valid_name(arg))
				argp_error(state, "'%s' is not a policy name", arg);
			o->name = arg;
		} else
			argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (!o->action)
			argp_error(state, "which action: attach, list, stats or detach?");
		if (!strcmp(o->action, "attach")) {
			if (!o->kind)
				argp_error(state, "attach: which policy: windows, storm or resolve?");
			if (!fault_policy_find(o->kind))
				argp_error(state, "attach: unknown policy '%s' (windows, storm, resolve)", o->kind);
			if (o->fd < 0)
				argp_error(state, "attach: --fd is required (the fault fd)");
			if (!strcmp(o->kind, "windows") && !o->nr_windows)
				argp_error(state, "attach windows: give at least one --window");
			if (strcmp(o->kind, "windows") && o->nr_windows)
				argp_error(state, "--window is for the windows policy");
			if (!strcmp(o->kind, "storm") && !o->storm.rate_per_sec)
				argp_error(state, "attach storm: --rate is required");
			if (strcmp(o->kind, "storm") &&
			    (o->storm.rate_per_sec || o->storm.burst))
				argp_error(state, "--rate and --burst are for the storm policy");
			if (o->pin && o->common.duration_ns)
				argp_error(state, "--pin and --duration contradict each other");
			if (!o->name)
				o->name = o->kind;
		} else if (!strcmp(o->action, "stats") ||
			   !strcmp(o->action, "detach")) {
			if (!o->name)
				argp_error(state, "%s: which policy (NAME)?", o->action);
		} else if (strcmp(o->action, "list")) {
			argp_error(state, "unknown action '%s' (attach, list, stats, detach)", o->action);
		}
		if (strcmp(o->action, "attach") &&
		    (o->fd >= 0 || o->pid || o->pin || o->common.duration_ns ||
		     o->nr_windows || o->storm.rate_per_sec))
			argp_error(state, "%s takes no attach options", o->action);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

/* ---- pinned policies --------------------------------------------------- */

static int check_bpffs(void)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC) {
		warnx_("/sys/fs/bpf is not a BPF filesystem: mount -t bpf bpf /sys/fs/bpf");
		return -1;
	}
	return 0;
}

static void pin_path(char *buf, size_t n, const char *name, const char *what)
{
	snprintf(buf, n, PIN_ROOT "/%s%s%s", name, what ? "/" : "", what ? what : "");
}

struct policy_view {
	__u64 stats[FAULT_STAT_MAX];
	struct fault_policy_exit exit;
	struct fault_policy_info info;
};

static int read_view(int stats_fd, int exit_fd, int info_fd,
		     struct policy_view *v)
{
	__u32 zero = 0;
	int err;

	memset(v, 0, sizeof(*v));
	err = percpu_counters_read(stats_fd, v->stats, FAULT_STAT_MAX);
	if (!err && bpf_map_lookup_elem(exit_fd, &zero, &v->exit))
		err = -errno;
	if (!err && bpf_map_lookup_elem(info_fd, &zero, &v->info))
		err = -errno;
	return err;
}

static int read_pinned_view(const char *name, struct policy_view *v)
{
	int fds[FAULT_POLICY_PINNED_MAPS], i, err = 0;
	char path[PATH_MAX];

	for (i = 0; i < FAULT_POLICY_PINNED_MAPS; i++) {
		pin_path(path, sizeof(path), name, fault_policy_pinned_maps[i]);
		fds[i] = bpf_obj_get(path);
		if (fds[i] < 0 && !err)
			err = -errno;
	}
	if (!err)
		err = read_view(fds[0], fds[1], fds[2], v);
	for (i = 0; i < FAULT_POLICY_PINNED_MAPS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return err;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_view(const char *name, const struct policy_view *v,
		       bool json)
{
	int i;

	if (json) {
		struct json_writer w;

		json_begin(&w, stdout);
		json_str(&w, "name", name);
		json_strn(&w, "policy", v->info.kind, sizeof(v->info.kind));
		json_str(&w, "state", exit_kind_name(v->exit.kind));
		json_s64(&w, "fault_pid", v->info.fault_pid);
		json_s64(&w, "fault_fd", v->info.fault_fd);
		json_s64(&w, "loader_pid", v->info.loader_pid);
		json_bool(&w, "pinned", v->info.pinned);
		for (i = 0; i < FAULT_STAT_MAX; i++)
			json_u64(&w, stat_names[i], v->stats[i]);
		if (v->exit.kind) {
			json_u64(&w, "exit_groups", v->exit.groups);
			json_u64(&w, "exit_clamped", v->exit.clamped);
			json_strn(&w, "exit_reason", v->exit.reason,
				  sizeof(v->exit.reason));
		}
		json_end(&w);
		return;
	}
	printf("%-15s %-8s %-20s fault fd %d of pid %d%s\n", name, v->info.kind,
	       exit_kind_name(v->exit.kind), v->info.fault_fd,
	       v->info.fault_pid,
	       v->info.pinned && !v->exit.kind ? ", pinned" : "");
	printf("  ");
	for (i = 0; i < FAULT_STAT_MAX; i++)
		if (i <= FAULT_STAT_DEFER || v->stats[i])
			printf("%s %llu  ", stat_names[i],
			       (unsigned long long)v->stats[i]);
	printf("\n");
	if (v->exit.kind)
		printf("  exit after %llu groups: %s\n",
		       (unsigned long long)v->exit.groups, v->exit.reason);
	if (v->exit.clamped)
		printf("  %llu SUCCESS answers for a nested HWPT deferred to the VMM\n",
		       (unsigned long long)v->exit.clamped);
}

static int cmd_list(const struct fault_opts *o)
{
	struct dirent **ents;
	int n, i, shown = 0;

	if (check_bpffs())
		return EXIT_FAIL;
	n = scandir(PIN_ROOT, &ents, NULL, alphasort);
	if (n < 0) {
		if (errno == ENOENT) {
			if (!o->json)
				printf("no pinned fault policies\n");
			return EXIT_OK;
		}
		warnx_("cannot read %s: %s", PIN_ROOT, strerror(errno));
		return EXIT_FAIL;
	}
	for (i = 0; i < n; i++) {
		struct policy_view v;

		if (ents[i]->d_name[0] != '.' &&
		    !read_pinned_view(ents[i]->d_name, &v)) {
			print_view(ents[i]->d_name, &v, o->json);
			shown++;
		}
		free(ents[i]);
	}
	free(ents);
	if (!shown && !o->json)
		printf("no pinned fault policies\n");
	return EXIT_OK;
}

static int cmd_stats(const struct fault_opts *o)
{
	struct policy_view v;
	int err;

	if (check_bpffs())
		return EXIT_FAIL;
	err = read_pinned_view(o->name, &v);
	if (err) {
		if (err == -ENOENT)
			warnx_("no pinned fault policy named '%s' ('fault list' shows them)", o->name);
		else
			warnx_("cannot read policy '%s': %s", o->name, strerror(-err));
		return EXIT_FAIL;
	}
	print_view(o->name, &v, o->json);
	return EXIT_OK;
}

static int cmd_detach(const struct fault_opts *o)
{
	int link_fd, fds[FAULT_POLICY_PINNED_MAPS], err, i;
	char path[PATH_MAX];
	struct policy_view v;

	if (check_bpffs())
		return EXIT_FAIL;
	pin_path(path, sizeof(path), o->name, "link");
	link_fd = bpf_obj_get(path);
	if (link_fd < 0) {
		if (errno == ENOENT)
			warnx_("no pinned fault policy named '%s' ('fault list' shows them)", o->name);
		else
			warnx_("cannot open %s: %s", path, strerror(errno));
		return EXIT_FAIL;
	}
	/* Keep the maps to read what the kernel reported once detached */
	for (i = 0; i < FAULT_POLICY_PINNED_MAPS; i++) {
		pin_path(path, sizeof(path), o->name, fault_policy_pinned_maps[i]);
		fds[i] = bpf_obj_get(path);
	}
	/* Detaching waits for the faults in flight in the policy */
	err = bpf_link_detach(link_fd);
	if (err && errno != EOPNOTSUPP && errno != EINVAL) {
		warnx_("cannot detach '%s': %s", o->name, strerror(errno));
		goto out;
	}
	err = fault_policy_unpin(PIN_ROOT, o->name);
	if (err)
		warnx_("left %s/%s behind: %s", PIN_ROOT, o->name, strerror(-err));
	/* Without link detach, the last reference going detaches it */
	close(link_fd);
	link_fd = -1;
	if (fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0 &&
	    !read_view(fds[0], fds[1], fds[2], &v))
		print_view(o->name, &v, false);
	err = 0;
out:
	if (link_fd >= 0)
		close(link_fd);
	for (i = 0; i < FAULT_POLICY_PINNED_MAPS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return err ? EXIT_FAIL : EXIT_OK;
}

/* ---- attach ------------------------------------------------------------ */

/* The fault fd in this process: ours, or the other process's via pidfd */
static int get_fault_fd(const struct fault_opts *o)
{
	int pidfd, fd;

	if (!o->pid) {
		if (fcntl(o->fd, F_GETFD) < 0) {
			warnx_("--fd %d: not an open file descriptor of this process", o->fd);
			return -1;
		}
		return o->fd;
	}
	pidfd = syscall(SYS_pidfd_open, o->pid, 0);
	if (pidfd < 0) {
		warnx_("--pid %d: %s", o->pid, strerror(errno));
		return -1;
	}
	fd = syscall(SYS_pidfd_getfd, pidfd, o->fd, 0);
	if (fd < 0)
		warnx_("cannot take fd %d of process %d: %s%s", o->fd, o->pid,
		       strerror(errno),
		       errno == EPERM ? " (needs CAP_SYS_PTRACE)" : "");
	close(pidfd);
	return fd;
}

/* {"event":"attached",...}, with the pin directory if pinned */
static void print_attached_json(const struct fault_opts *o, const char *policy,
				const char *pinned)
{
	struct json_writer w;

	json_begin(&w, stdout);
	json_str(&w, "event", "attached");
	json_str(&w, "name", o->name);
	json_str(&w, "policy", policy);
	if (pinned)
		json_str(&w, "pinned", pinned);
	json_end(&w);
}

static int on_storm_note(void *ctx, void *data, size_t size)
{
	const struct fault_opts *o = ctx;
	const struct fault_storm_note *n = data;

	if (size < sizeof(*n))
		return 0;
	if (o->json) {
		struct json_writer w;

		json_begin(&w, stdout);
		json_str(&w, "event", "storm");
		json_u64(&w, "dev_id", n->dev_id);
		json_s64(&w, "pasid", n->pasid == FAULT_PASID_NONE ? -1 :
					   (int64_t)n->pasid);
		json_s64(&w, "owner_tgid", n->owner_tgid);
		json_u64(&w, "fault_id", n->fault_id);
		json_u64(&w, "over_budget", n->over_total);
		json_u64(&w, "suppressed", n->suppressed);
		json_end(&w);
	} else {
		printf("storm: device %u", n->dev_id);
		if (n->pasid != FAULT_PASID_NONE)
			printf(" pasid %u", n->pasid);
		printf(" (fault %u, tgid %d) is over budget; refused so far: %llu",
		       n->fault_id, n->owner_tgid,
		       (unsigned long long)n->over_total);
		if (n->suppressed)
			printf(", %llu since the last notice",
			       (unsigned long long)n->suppressed);
		printf("\n");
	}
	fflush(stdout);
	return 0;
}

static int cmd_attach(struct fault_opts *o)
{
	const struct fault_policy_kind *kind = fault_policy_find(o->kind);
	struct fault_policy fp = { 0 };
	struct ring_buffer *notes = NULL;
	char dir[PATH_MAX];
	struct kernel_features kf;
	struct policy_view v;
	int fault_fd, err, rc = EXIT_FAIL;
	double end, next_print;

	if (kernel_features_probe(&kf)) {
		warnx_("no kernel BTF at /sys/kernel/btf/vmlinux: the kernel needs CONFIG_DEBUG_INFO_BTF=y");
		return EXIT_FAIL;
	}
	if (!kf.fault_ops) {
		warnx_("fault policies need the iommufd-bpf kernel series (struct_ops iommufd_fault_ops), which this kernel lacks: there is no fallback for them");
		return EXIT_FAIL;
	}
	if (fault_check_privileges(o->pid != 0))
		return EXIT_FAIL;
	if (o->pin) {
		if (check_bpffs())
			return EXIT_FAIL;
		pin_path(dir, sizeof(dir), o->name, NULL);
		if (!access(dir, F_OK)) {
			warnx_("a fault policy named '%s' is pinned already (%s); detach it or pick another --name",
			       o->name, dir);
			return EXIT_FAIL;
		}
	}
	fault_fd = get_fault_fd(o);
	if (fault_fd < 0)
		return EXIT_FAIL;

	fp.info.fault_pid = o->pid ? o->pid : getpid();
	fp.info.fault_fd = o->fd;
	fp.info.loader_pid = getpid();
	fp.info.pinned = o->pin;
	err = fault_policy_load(&fp, kind, fault_fd, o->name);
	if (!err)
		err = kind->configure ? kind->configure(&fp, o->windows,
							o->nr_windows,
							&o->storm) : 0;
	if (!err)
		err = fault_policy_attach(&fp);
	if (err) {
		fault_policy_explain(err, o->fd, o->pid);
		goto out;
	}
	if (o->pin) {
		err = fault_policy_pin(&fp, PIN_ROOT, o->name);
		if (err) {
			warnx_("cannot pin policy '%s': %s (detached again)",
			       o->name, strerror(-err));
			goto out;
		}
	}
	/* Attached: nothing left that needs privileges */
	if (o->pid)
		close(fault_fd);
	fault_fd = -1;
	if (drop_all_capabilities())
		goto out;

	if (o->pin) {
		if (o->json) {
			print_attached_json(o, kind->name, dir);
		} else {
			printf("policy '%s' (%s) attached to fault fd %d of pid %d, pinned at %s\n",
			       o->name, kind->name, o->fd, fp.info.fault_pid, dir);
		}
		rc = EXIT_OK;
		goto out;
	}

	if (o->json) {
		print_attached_json(o, kind->name, NULL);
	} else {
		printf("policy '%s' (%s) attached to fault fd %d of pid %d; Ctrl-C detaches\n",
		       o->name, kind->name, o->fd, fp.info.fault_pid);
	}
	fflush(stdout);
	catch_exit_signals();
	if (fp.notes_fd >= 0) {
		notes = ring_buffer__new(fp.notes_fd, on_storm_note, o, NULL);
		if (!notes) {
			warnx_("cannot read storm notifications: %s", strerror(errno));
			goto out;
		}
	}
	end = o->common.duration_ns ? now_s() + o->common.duration_ns / 1e9 : 0;
	next_print = o->interval_ns ? now_s() + o->interval_ns / 1e9 : 0;
	rc = EXIT_OK;
	while (!exit_requested && (!end || now_s() < end)) {
		if (notes)
			ring_buffer__poll(notes, 100);
		else
			usleep(100000);
		if (read_view(fp.stats_fd, fp.exit_fd, fp.info_fd, &v))
			continue;
		if (v.exit.kind) {
			warnx_("the kernel ejected policy '%s': %s", o->name,
			       v.exit.reason);
			rc = EXIT_FAIL;
			break;
		}
		if (next_print && now_s() >= next_print) {
			print_view(o->name, &v, o->json);
			next_print += o->interval_ns / 1e9;
		}
	}
	if (notes)
		ring_buffer__consume(notes);
	/* Detach, then show the final counts and the exit the kernel reported */
	fault_policy_detach(&fp);
	if (!read_view(fp.stats_fd, fp.exit_fd, fp.info_fd, &v))
		print_view(o->name, &v, o->json);
out:
	ring_buffer__free(notes);
	fault_policy_close(&fp);
	if (fault_fd >= 0 && o->pid)
		close(fault_fd);
	return rc;
}

int cmd_fault(int argc, char **argv)
{
	static const struct argp_child children[] = { RUNTIME_ARGP_CHILD, {} };
	static const struct argp argp = {
		.options = options, .parser = parse_arg,
		.args_doc = "ACTION [POLICY|NAME]", .doc = doc,
		.children = children,
	};
	struct fault_opts o = { .fd = -1 };

	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return EXIT_USAGE;
	setup_libbpf_logging();
	if (!strcmp(o.action, "attach")) {
		if (o.storm.rate_per_sec && !o.storm.burst)
			o.storm.burst = o.storm.rate_per_sec;
		o.storm.notify_interval_ns = 1000000000ULL;
		return cmd_attach(&o);
	}
	if (!strcmp(o.action, "list"))
		return cmd_list(&o);
	if (!strcmp(o.action, "stats"))
		return cmd_stats(&o);
	return cmd_detach(&o);
}
