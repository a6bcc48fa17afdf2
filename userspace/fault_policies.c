// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Loading fault policies: see fault_policies.h. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "common.h"
#include "fault_policies.h"
#include "fault_resolve.skel.h"
#include "fault_storm.skel.h"
#include "fault_windows.skel.h"

const char *const fault_policy_pinned_maps[FAULT_POLICY_PINNED_MAPS] = {
	"stats", "exit_rec", "info"
};

static int configure_windows(struct fault_policy *fp,
			     const struct fault_window_spec *windows,
			     unsigned int nr, const struct fault_storm_config *storm)
{
	int fd = bpf_object__find_map_fd_by_name(fp->obj, "windows");
	unsigned int i;

	if (fd < 0)
		return -ENOENT;
	for (i = 0; i < nr; i++) {
		struct fault_windows w = { 0 };

		/* add to the entry of the same device and PASID */
		bpf_map_lookup_elem(fd, &windows[i].key, &w);
		if (w.nr == FAULT_MAX_WINDOWS) {
			warnx_("--window: more than %d windows for device %u",
			       FAULT_MAX_WINDOWS, windows[i].key.dev_id);
			return -E2BIG;
		}
		w.w[w.nr].start = windows[i].start;
		w.w[w.nr].end = windows[i].end;
		w.nr++;
		if (bpf_map_update_elem(fd, &windows[i].key, &w, BPF_ANY))
			return -errno;
	}
	return 0;
}

static int configure_storm(struct fault_policy *fp,
			   const struct fault_window_spec *windows,
			   unsigned int nr, const struct fault_storm_config *storm)
{
	int fd = bpf_object__find_map_fd_by_name(fp->obj, "storm_config");
	__u32 zero = 0;

	if (fd < 0)
		return -ENOENT;
	return bpf_map_update_elem(fd, &zero, storm, BPF_ANY) ? -errno : 0;
}

static const void *windows_elf(size_t *sz) { return fault_windows_bpf__elf_bytes(sz); }
static const void *storm_elf(size_t *sz) { return fault_storm_bpf__elf_bytes(sz); }
static const void *resolve_elf(size_t *sz) { return fault_resolve_bpf__elf_bytes(sz); }

static const struct fault_policy_kind kinds[] = {
	{ "windows", windows_elf, configure_windows },
	{ "storm", storm_elf, configure_storm },
	{ "resolve", resolve_elf, NULL },
};

const struct fault_policy_kind *fault_policy_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].name, name))
			return &kinds[i];
	return NULL;
}

int fault_parse_window(const char *s, struct fault_window_spec *w)
{
	char dev[32], *at, *plus, *dot, *end;
	unsigned long long v;
	uint64_t start, size;
	size_t n;

	at = strchr(s, '@');
	plus = at ? strchr(at, '+') : NULL;
	if (!at || !plus || (size_t)(at - s) >= sizeof(dev) || at == s)
		return -1;
	n = at - s;
	memcpy(dev, s, n);
	dev[n] = 0;
	w->key.pasid = FAULT_PASID_ANY;
	dot = strchr(dev, '.');
	if (dot) {
		*dot++ = 0;
		if (!strcmp(dot, "none")) {
			w->key.pasid = FAULT_PASID_NONE;
		} else {
			errno = 0;
			v = strtoull(dot, &end, 0);
			/* PASIDs are 20 bits */
			if (errno || *end || !*dot || v >= (1u << 20))
				return -1;
			w->key.pasid = v;
		}
	}
	if (parse_u32(dev, &w->key.dev_id))
		return -1;
	if (at[1] == '+' || at[1] == '-')
		return -1;
	errno = 0;
	start = strtoull(at + 1, &end, 0);
	if (errno || end != plus)
		return -1;
	if (parse_size(plus + 1, &size) || start + size < start)
		return -1;
	w->start = start;
	w->end = start + size;
	return 0;
}

int fault_check_privileges(bool ptrace)
{
	static const cap_value_t need[] = { CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN,
					    CAP_SYS_PTRACE };
	cap_t caps = cap_get_proc();
	size_t i, n = ptrace ? 4 : 3;

	if (!caps) {
		warnx_("cannot read capabilities: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		cap_flag_value_t v = CAP_CLEAR;

		cap_get_flag(caps, need[i], CAP_EFFECTIVE, &v);
		if (v != CAP_SET) {
			char *name = cap_to_name(need[i]);

			warnx_("permission denied: attaching a fault policy needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN%s; %s is missing",
			       ptrace ? " (and CAP_SYS_PTRACE for --pid)" : "",
			       name ? name : "one");
			cap_free(name);
			cap_free(caps);
			return -1;
		}
	}
	cap_free(caps);
	return 0;
}

/* Write a data member of the struct_ops map's value, found through BTF */
static int set_ops_member(struct fault_policy *fp, const char *member,
			  const void *val, size_t len)
{
	const struct btf *btf = bpf_object__btf(fp->obj);
	const struct btf_type *t;
	const struct btf_member *m;
	size_t size;
	char *data;
	int id, i;

	id = btf__find_by_name_kind(btf, "iommufd_fault_ops", BTF_KIND_STRUCT);
	data = bpf_map__initial_value(fp->ops_map, &size);
	if (id < 0 || !data)
		return -ENOENT;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++) {
		size_t off = btf_member_bit_offset(t, i) / 8;

		if (strcmp(btf__name_by_offset(btf, m->name_off), member))
			continue;
		if (off + len > size)
			return -EINVAL;
		memcpy(data + off, val, len);
		return 0;
	}
	return -ENOENT;
}

int fault_policy_load_elf(struct fault_policy *fp, const void *elf,
			  size_t size, int fault_fd, const char *name)
{
	char pname[FAULT_POLICY_NAME_LEN] = { 0 };
	struct timespec ts;
	struct bpf_map *map;
	__u32 zero = 0;
	int err, notes;

	fp->stats_fd = fp->exit_fd = fp->info_fd = fp->notes_fd = -1;
	fp->obj = bpf_object__open_mem(elf, size, NULL);
	if (!fp->obj)
		return -errno;
	bpf_object__for_each_map(map, fp->obj)
		if (bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS)
			fp->ops_map = map;
	if (!fp->ops_map) {
		err = -ENOENT;
		goto err;
	}
	strncpy(pname, name, sizeof(pname) - 1);
	err = set_ops_member(fp, "fault_fd", &fault_fd, sizeof(fault_fd));
	if (!err)
		err = set_ops_member(fp, "name", pname, sizeof(pname));
	if (err)
		goto err;
	err = bpf_object__load(fp->obj);
	if (err)
		goto err;
	fp->stats_fd = bpf_object__find_map_fd_by_name(fp->obj, "stats");
	fp->exit_fd = bpf_object__find_map_fd_by_name(fp->obj, "exit_rec");
	fp->info_fd = bpf_object__find_map_fd_by_name(fp->obj, "info");
	notes = bpf_object__find_map_fd_by_name(fp->obj, "notes");
	fp->notes_fd = notes >= 0 ? notes : -1;
	if (fp->stats_fd < 0 || fp->exit_fd < 0 || fp->info_fd < 0) {
		err = -ENOENT;
		goto err;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	fp->info.attach_time_ns = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	if (bpf_map_update_elem(fp->info_fd, &zero, &fp->info, BPF_ANY)) {
		err = -errno;
		goto err;
	}
	return 0;
err:
	bpf_object__close(fp->obj);
	fp->obj = NULL;
	return err;
}

int fault_policy_load(struct fault_policy *fp,
		      const struct fault_policy_kind *kind, int fault_fd,
		      const char *name)
{
	const void *elf;
	size_t size;

	strncpy(fp->info.kind, kind->name, sizeof(fp->info.kind) - 1);
	elf = kind->elf_bytes(&size);
	return fault_policy_load_elf(fp, elf, size, fault_fd, name);
}

int fault_policy_attach(struct fault_policy *fp)
{
	fp->link = bpf_map__attach_struct_ops(fp->ops_map);
	if (!fp->link)
		return -errno;
	return 0;
}

int fault_policy_pin(struct fault_policy *fp, const char *root,
		     const char *name)
{
	char path[PATH_MAX], *p;
	size_t i;
	int err;

	/* mkdir -p root/name */
	snprintf(path, sizeof(path), "%s/%s", root, name);
	for (p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(path, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(path, 0700))
		return -errno;
	for (i = 0; i < FAULT_POLICY_PINNED_MAPS; i++) {
		const char *map = fault_policy_pinned_maps[i];

		snprintf(path, sizeof(path), "%s/%s/%s", root, name, map);
		if (bpf_obj_pin(bpf_object__find_map_fd_by_name(fp->obj, map), path))
			goto err;
	}
	snprintf(path, sizeof(path), "%s/%s/link", root, name);
	if (bpf_link__pin(fp->link, path))
		goto err;
	return 0;
err:
	err = -errno;
	fault_policy_unpin(root, name);
	fault_policy_detach(fp);
	return err;
}

int fault_policy_unpin(const char *root, const char *name)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < FAULT_POLICY_PINNED_MAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s/%s", root, name,
			 fault_policy_pinned_maps[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/%s/link", root, name);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", root, name);
	return rmdir(path) ? -errno : 0;
}

void fault_policy_detach(struct fault_policy *fp)
{
	if (!fp->link)
		return;
	/* pinned: the pin keeps it attached; otherwise this unregisters */
	bpf_link__destroy(fp->link);
	fp->link = NULL;
}

void fault_policy_close(struct fault_policy *fp)
{
	if (fp->link) {
		/* keep a pinned policy attached past this process */
		bpf_link__disconnect(fp->link);
		bpf_link__destroy(fp->link);
		fp->link = NULL;
	}
	bpf_object__close(fp->obj);
	fp->obj = NULL;
}

void fault_policy_explain(int err, int fd, int pid)
{
	char who[64];

	if (pid)
		snprintf(who, sizeof(who), "fd %d of process %d", fd, pid);
	else
		snprintf(who, sizeof(who), "fd %d", fd);
	switch (-err) {
	case EBUSY:
		warnx_("%s: this fault object has a policy already (detach it first)", who);
		break;
	case EINVAL:
		warnx_("%s is not an iommufd fault fd (IOMMU_FAULT_QUEUE_ALLOC), or the policy is malformed", who);
		break;
	case EBADF:
		warnx_("%s is not open", who);
		break;
	case EPERM:
	case EACCES:
		warnx_("permission denied: fault policies need CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN in the initial user namespace");
		break;
	case ENOENT:
	case ESRCH:
	case ENOTSUP:
		warnx_("this kernel has no iommufd_fault_ops (needs the iommufd-bpf series and CONFIG_IOMMUFD_BPF): %s",
		       strerror(-err));
		break;
	default:
		warnx_("cannot attach the policy: %s", strerror(-err));
	}
}
