// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <bpf/btf.h>

#include "kernel_features.h"

static bool has_event(const struct btf *btf, const char *name)
{
	char type[128];

	/* Each TRACE_EVENT leaves a btf_trace_<name> typedef for tp_btf */
	snprintf(type, sizeof(type), "btf_trace_%s", name);
	return btf__find_by_name_kind(btf, type, BTF_KIND_TYPEDEF) >= 0;
}

/*
 * pahole writes a BTF function only for what has a body of its own (not
 * inlined everywhere) and a prototype BTF can describe: what fentry needs
 */
static bool has_function(const struct btf *btf, const char *name)
{
	return btf__find_by_name_kind(btf, name, BTF_KIND_FUNC) >= 0;
}

/* Whether struct @type has a member @member */
static bool has_member(const struct btf *btf, const char *type,
		       const char *member)
{
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	const struct btf_member *m;
	const struct btf_type *t;
	int i;

	if (id < 0)
		return false;
	t = btf__type_by_id(btf, id);
	for (i = 0, m = btf_members(t); i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), member))
			return true;
	return false;
}

/* How many parameters function @name takes; -1 when it is not in BTF */
static int function_params(const struct btf *btf, const char *name)
{
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);
	const struct btf_type *t;

	if (id < 0)
		return -1;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	return t && btf_is_func_proto(t) ? btf_vlen(t) : -1;
}

int kernel_features_probe(struct kernel_features *kf)
{
	struct btf *btf;

	memset(kf, 0, sizeof(*kf));
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return -errno ?: -ENOENT;
	kf->btf = true;
	kf->iommufd = btf__find_by_name_kind(btf, "iommufd_ctx",
					     BTF_KIND_STRUCT) >= 0;
	kf->series = has_event(btf, "iommufd_ioas_map");
	kf->fault_ops = btf__find_by_name_kind(btf, "iommufd_fault_ops",
					       BTF_KIND_STRUCT) >= 0;
	kf->dirty_events = has_event(btf, "iommufd_dirty_range");
	kf->qi_wait = has_event(btf, "qi_wait");
	kf->ioas_ioctls = kf->iommufd &&
			  has_function(btf, "iommufd_ioas_map") &&
			  has_function(btf, "iommufd_ioas_unmap") &&
			  has_function(btf, "iommufd_ioas_copy");
	kf->object_ends = kf->iommufd && has_function(btf, "iommufd_destroy") &&
			  has_function(btf, "iommufd_fops_release") &&
			  has_function(btf, "iommufd_device_unbind");
	kf->dirty_ioctl = kf->iommufd &&
			  has_function(btf, "iommufd_hwpt_get_dirty_bitmap") &&
			  has_function(btf, "iova_bitmap_set");
	kf->device_attach = kf->iommufd &&
			    has_function(btf, "iommufd_device_attach") &&
			    has_function(btf, "iommufd_device_replace") &&
			    has_function(btf, "iommufd_device_detach");
	/* (idev, pt_id) before 6.15, (idev, pasid, pt_id) since */
	kf->attach_pasid_arg =
		function_params(btf, "iommufd_device_attach") == 3;
	kf->group_rid_hwpt = has_member(btf, "iommufd_group", "hwpt");
	kf->iopf_functions = kf->iommufd &&
			     has_function(btf, "iommufd_fault_iopf_handler") &&
			     has_function(btf, "iopf_group_response") &&
			     has_function(btf, "iommufd_auto_response_faults") &&
			     has_function(btf, "iommufd_fault_destroy");
	kf->fault_fd_read = kf->iopf_functions &&
			    has_function(btf, "iommufd_fault_fops_read");
	kf->io_page_fault = has_event(btf, "io_page_fault");
	kf->qi_submit = has_event(btf, "qi_submit");
	kf->dmar_fault = has_event(btf, "dmar_fault");
	btf__free(btf);
	return 0;
}

void report_reduced_mode(const char *command, const char *missing)
{
	fprintf(stderr, "iommufd-bpf %s: reduced mode: this kernel lacks the iommufd-bpf series; %s ('iommufd-bpf probe' lists what is there)\n",
		command, missing);
}
