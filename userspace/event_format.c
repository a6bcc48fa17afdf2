// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdlib.h>
#include <string.h>

#include "event_format.h"
#include "json_writer.h"

static const char *const names[IOMMUFD_EV_MAX] = {
	[IOMMUFD_EV_IOAS_MAP] = "ioas_map",
	[IOMMUFD_EV_IOAS_UNMAP] = "ioas_unmap",
	[IOMMUFD_EV_IOAS_COPY] = "ioas_copy",
	[IOMMUFD_EV_DEVICE_ATTACH] = "device_attach",
	[IOMMUFD_EV_DEVICE_DETACH] = "device_detach",
	[IOMMUFD_EV_DEVICE_REPLACE] = "device_replace",
	[IOMMUFD_EV_DOMAIN_UNMAP] = "domain_unmap",
	[IOMMUFD_EV_HWPT_INVALIDATE] = "hwpt_invalidate",
	[IOMMUFD_EV_DIRTY_TRACKING] = "dirty_tracking",
	[IOMMUFD_EV_DIRTY_READ] = "dirty_read",
	[IOMMUFD_EV_FAULT_REPORT] = "fault_report",
	[IOMMUFD_EV_FAULT_RESPOND] = "fault_respond",
	[IOMMUFD_EV_FAULT_AUTO_RESPOND] = "fault_auto_respond",
	[IOMMUFD_EV_PINNED_UPDATE] = "pinned_update",
	[IOMMUFD_EV_DMA_FAULT] = "dma_fault",
	[IOMMUFD_EV_CTX_OPEN] = "ctx_open",
	[IOMMUFD_EV_CTX_RELEASE] = "ctx_release",
	[IOMMUFD_EV_IOAS_ALLOC] = "ioas_alloc",
	[IOMMUFD_EV_HWPT_ALLOC] = "hwpt_alloc",
	[IOMMUFD_EV_FAULT_ALLOC] = "fault_alloc",
	[IOMMUFD_EV_DEVICE_BIND] = "device_bind",
	[IOMMUFD_EV_ACCESS_CREATE] = "access_create",
	[IOMMUFD_EV_OBJECT_DESTROY] = "object_destroy",
	[IOMMUFD_EV_ACCESS_PIN] = "access_pin",
	[IOMMUFD_EV_ACCESS_UNPIN] = "access_unpin",
	[IOMMUFD_EV_FAULT_READ] = "fault_read",
	[IOMMUFD_EV_IOTLB_WAIT] = "iotlb_wait",
};

static const char *object_kind_name(uint32_t k)
{
	static const char *const s[] = {
		[IOMMUFD_OBJECT_OTHER] = "other",
		[IOMMUFD_OBJECT_DEVICE] = "device",
		[IOMMUFD_OBJECT_HWPT_PAGING] = "hwpt_paging",
		[IOMMUFD_OBJECT_HWPT_NESTED] = "hwpt_nested",
		[IOMMUFD_OBJECT_IOAS] = "ioas",
		[IOMMUFD_OBJECT_ACCESS] = "access",
		[IOMMUFD_OBJECT_FAULT] = "fault",
	};

	return k < sizeof(s) / sizeof(s[0]) ? s[k] : "?";
}

/* The device name of a bind record, or "" */
static const char *bind_device(const struct iommufd_event *e, size_t size,
			       size_t *len)
{
	if (e->type != IOMMUFD_EV_DEVICE_BIND ||
	    size < sizeof(struct iommufd_bind_event))
		return "";
	*len = sizeof(((struct iommufd_bind_event *)0)->device);
	return ((const struct iommufd_bind_event *)e)->device;
}

/* Values of the kernel enums the records carry in 'code' */
static const char *domain_unmap_reason(uint32_t r)
{
	static const char *const s[] = { "unmap", "unfill", "unwind" };

	return r < 3 ? s[r] : "?";
}

static const char *auto_resp_reason(uint32_t r)
{
	return r == 0 ? "detach" : r == 1 ? "destroy" : "?";
}

static const char *page_resp_code(uint32_t c)
{
	return c == 0 ? "success" : c == 1 ? "invalid" : c == 2 ? "failure" : "?";
}

static const char *dmar_fault_kind(uint32_t k)
{
	return k == IOMMUFD_DMAR_FAULT_DMA ? "dma" :
	       k == IOMMUFD_DMAR_FAULT_INTR ? "intr" : "unknown";
}

const char *event_type_name(uint32_t type)
{
	return type < IOMMUFD_EV_MAX ? names[type] : NULL;
}

const char *event_names_help(void)
{
	static char buf[512];
	size_t off = 0;
	int t;

	if (buf[0])
		return buf;
	for (t = 1; t < IOMMUFD_EV_MAX; t++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%s",
				t > 1 ? "," : "", names[t]);
	return buf;
}

int parse_event_list(const char *list, uint32_t *mask, const char **bad)
{
	static char copy[512];
	char *tok, *save = NULL;
	uint32_t m = 0;
	int t;

	if (!list || !*list || strlen(list) >= sizeof(copy)) {
		*bad = list ? list : "";
		return -1;
	}
	strcpy(copy, list);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "all")) {
			m |= IOMMUFD_EV_MASK_ALL;
			continue;
		}
		if (!strcmp(tok, "lifecycle")) {
			m |= IOMMUFD_EV_MASK_LIFECYCLE;
			continue;
		}
		for (t = 1; t < IOMMUFD_EV_MAX; t++)
			if (!strcmp(tok, names[t]))
				break;
		if (t == IOMMUFD_EV_MAX) {
			*bad = tok;
			return -1;
		}
		m |= 1u << t;
	}
	if (!m) {
		*bad = list;
		return -1;
	}
	*mask = m;
	return 0;
}

const struct iommufd_dma_fault_detail *event_dma_fault(const struct iommufd_event *e,
						       size_t size)
{
	if (e->type != IOMMUFD_EV_DMA_FAULT ||
	    size < sizeof(struct iommufd_dma_fault_event))
		return NULL;
	return &((const struct iommufd_dma_fault_event *)e)->f;
}

const struct iommufd_iotlb_wait_detail *event_iotlb_wait(const struct iommufd_event *e,
							 size_t size)
{
	if (e->type != IOMMUFD_EV_IOTLB_WAIT ||
	    size < sizeof(struct iommufd_iotlb_wait_event))
		return NULL;
	return &((const struct iommufd_iotlb_wait_event *)e)->w;
}

/* "iotlb|dev_tlb": the descriptor kinds of a VT-d submission, into @buf */
static const char *qi_kinds_name(uint32_t kinds, char *buf, size_t len)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{ IOMMUFD_QI_IOTLB, "iotlb" },
		{ IOMMUFD_QI_PASID_IOTLB, "pasid_iotlb" },
		{ IOMMUFD_QI_DEV_TLB, "dev_tlb" },
		{ IOMMUFD_QI_PASID_DEV_TLB, "pasid_dev_tlb" },
		{ IOMMUFD_QI_PAGE_RESP, "page_resp" },
		{ IOMMUFD_QI_CC, "context" },
		{ IOMMUFD_QI_PASID_CACHE, "pasid_cache" },
		{ IOMMUFD_QI_IEC, "iec" },
		{ IOMMUFD_QI_WAIT, "wait" },
	};
	size_t i, n = 0;

	buf[0] = 0;
	for (i = 0; i < sizeof(names) / sizeof(names[0]) && n < len; i++)
		if (kinds & names[i].bit)
			n += snprintf(buf + n, len - n, "%s%s", n ? "|" : "",
				      names[i].name);
	return buf;
}

const char *dma_fault_reason(const struct iommufd_event *e,
			     const struct iommufd_dma_fault_detail *f)
{
	if (f && (e->flags & IOMMUFD_DMA_FAULT_DECODED) && f->reason[0])
		return f->reason;
	return e->flags & IOMMUFD_DMA_FAULT_WRITE ? "write fault" : "read fault";
}

/*
 * dev=ID (NAME) hwpt ioas, then what the IOMMU driver decoded, then the
 * use-after-unmap diagnosis; ids are 0 for a device iommufd does not own.
 */
static void print_dma_fault_text(FILE *out, const struct iommufd_event *e,
				 const struct iommufd_dma_fault_detail *f)
{
	fprintf(out, " dev=%u (%.32s) hwpt=%u ioas=%u addr=0x%llx %s",
		e->dev_id, f->device[0] ? f->device : "?", e->hwpt_id,
		e->ioas_id, (unsigned long long)e->iova,
		e->flags & IOMMUFD_DMA_FAULT_WRITE ? "write" : "read");
	if (e->flags & IOMMUFD_DMA_FAULT_PASID)
		fprintf(out, " pasid=0x%x", e->pasid);
	if (e->flags & IOMMUFD_DMA_FAULT_DECODED)
		fprintf(out, " sid=%02x:%02x.%u %s reason=0x%02x \"%.64s\"",
			f->source_id >> 8, (f->source_id >> 3) & 0x1f,
			f->source_id & 7, dmar_fault_kind(f->kind), e->code,
			f->reason);
	if (e->flags & IOMMUFD_DMA_FAULT_AFTER_UNMAP)
		fprintf(out, " DMA after unmap: [0x%llx, +0x%llx) unmapped %.3f ms earlier by tgid=%d (%.16s)",
			(unsigned long long)f->unmap_iova,
			(unsigned long long)f->unmap_length,
			f->unmap_age_ns / 1e6, f->unmap_tgid, f->unmap_comm);
	fputc('\n', out);
}

/* @v, or null when the record's source could not know it */
static void json_u64_known(struct json_writer *w, const char *key, uint64_t v,
			   bool known)
{
	if (known)
		json_u64(w, key, v);
	else
		json_null(w, key);
}

/* An object id, or "?" where the source could not know it */
static void print_id(FILE *out, __u32 id, bool absent)
{
	if (absent)
		fputc('?', out);
	else
		fprintf(out, "%u", id);
}

/* Fields that matter for each event; the common ones come first */
void print_event_text(FILE *out, const struct iommufd_event *e, size_t size)
{
	const struct iommufd_dma_fault_detail *f = event_dma_fault(e, size);

	fprintf(out, "%-8llu %-18s owner=", (unsigned long long)e->seq,
		event_type_name(e->type) ?: "?");
	if (e->absent & IOMMUFD_ABSENT_OWNER)
		fputc('?', out);
	else
		fprintf(out, "%d", e->owner_tgid);
	/* Pinned pages are a process's, not a context's */
	if (e->absent & IOMMUFD_ABSENT_CTX)
		fputs(" ctx=?", out);
	else if (e->type != IOMMUFD_EV_PINNED_UPDATE)
		fprintf(out, " ctx=%llu", (unsigned long long)e->ctx);
	/* A DMA fault is reported by an interrupt: there is no calling task */
	if (f)
		return print_dma_fault_text(out, e, f);
	fprintf(out, " tgid=%d comm=%.16s", e->tgid, e->comm);
	switch (e->type) {
	case IOMMUFD_EV_IOAS_MAP:
	case IOMMUFD_EV_IOAS_UNMAP:
		fprintf(out, " ioas=%u iova=0x%llx length=0x%llx",
			e->ioas_id, (unsigned long long)e->iova,
			(unsigned long long)e->length);
		if (e->absent & IOMMUFD_ABSENT_DONE)
			fputs(" done=?", out);
		else
			fprintf(out, " done=0x%llx", (unsigned long long)e->done);
		fprintf(out, " flags=0x%x", e->flags);
		if (e->absent & IOMMUFD_ABSENT_TALLY)
			fputs(" pinned=? domain_unmaps=?", out);
		else
			fprintf(out, " pinned=%+lld domain_unmaps=%u",
				(long long)e->pinned, e->domain_unmaps);
		break;
	case IOMMUFD_EV_IOAS_COPY:
		fprintf(out, " src_ioas=%u src_iova=0x%llx dst_ioas=%u dst_iova=0x%llx length=0x%llx flags=0x%x",
			e->src_ioas_id, (unsigned long long)e->iova, e->ioas_id,
			(unsigned long long)e->dst_iova,
			(unsigned long long)e->length, e->flags);
		break;
	case IOMMUFD_EV_DEVICE_ATTACH:
	case IOMMUFD_EV_DEVICE_DETACH:
	case IOMMUFD_EV_DEVICE_REPLACE:
		fprintf(out, " dev=%u hwpt=", e->dev_id);
		if (e->type == IOMMUFD_EV_DEVICE_REPLACE) {
			print_id(out, e->old_hwpt_id,
				 e->absent & IOMMUFD_ABSENT_OLD_HWPT);
			fputs("->", out);
		}
		print_id(out, e->hwpt_id, e->absent & IOMMUFD_ABSENT_HWPT);
		fputs(" ioas=", out);
		print_id(out, e->ioas_id, e->absent & IOMMUFD_ABSENT_IOAS);
		fprintf(out, " pasid=0x%x", e->pasid);
		break;
	case IOMMUFD_EV_DOMAIN_UNMAP:
		fprintf(out, " ioas=%u iova=0x%llx length=0x%llx reason=%s",
			e->ioas_id, (unsigned long long)e->iova,
			(unsigned long long)e->length, domain_unmap_reason(e->code));
		break;
	case IOMMUFD_EV_HWPT_INVALIDATE:
		fprintf(out, " hwpt=%u type=0x%x entries=%u done=%llu",
			e->hwpt_id, e->code, e->count,
			(unsigned long long)e->done);
		break;
	case IOMMUFD_EV_DIRTY_TRACKING:
		fprintf(out, " hwpt=%u ioas=%u %s", e->hwpt_id, e->ioas_id,
			e->flags ? "on" : "off");
		break;
	case IOMMUFD_EV_DIRTY_READ:
		fprintf(out, " hwpt=%u ioas=%u iova=0x%llx length=0x%llx page_size=0x%llx flags=0x%x dirty=%llu duration_ns=%llu",
			e->hwpt_id, e->ioas_id, (unsigned long long)e->iova,
			(unsigned long long)e->length,
			(unsigned long long)e->page_size, e->flags,
			(unsigned long long)e->done,
			(unsigned long long)e->duration_ns);
		break;
	case IOMMUFD_EV_FAULT_REPORT:
		fprintf(out, " fault=%u hwpt=%u dev=%u pasid=0x%x addr=0x%llx perm=0x%x grpid=%u count=%u flags=0x%x",
			e->fault_id, e->hwpt_id, e->dev_id, e->pasid,
			(unsigned long long)e->iova, e->perm, e->grpid,
			e->count, e->flags);
		break;
	case IOMMUFD_EV_FAULT_READ:
		fprintf(out, " fault=%u dev=%u pasid=0x%x addr=0x%llx grpid=%u count=%u cookie=%u queued_ns=%llu",
			e->fault_id, e->dev_id, e->pasid,
			(unsigned long long)e->iova, e->grpid, e->count,
			e->cookie, (unsigned long long)e->queued_ns);
		break;
	case IOMMUFD_EV_FAULT_RESPOND:
		fprintf(out, " fault=%u dev=%u pasid=0x%x addr=0x%llx grpid=%u cookie=%u code=%s",
			e->fault_id, e->dev_id, e->pasid,
			(unsigned long long)e->iova, e->grpid, e->cookie,
			page_resp_code(e->code));
		if (e->absent & IOMMUFD_ABSENT_DURATION)
			fputs(" waited_ns=?", out);
		else
			fprintf(out, " waited_ns=%llu",
				(unsigned long long)e->duration_ns);
		if (e->absent & IOMMUFD_ABSENT_FAULT_STEPS)
			fputs(" queued_ns=? handled_ns=?", out);
		else
			fprintf(out, " queued_ns=%llu handled_ns=%llu",
				(unsigned long long)e->queued_ns,
				(unsigned long long)e->handled_ns);
		break;
	case IOMMUFD_EV_FAULT_AUTO_RESPOND:
		fprintf(out, " fault=%u dev=%u count=%u reason=%s", e->fault_id,
			e->dev_id, e->count, auto_resp_reason(e->code));
		break;
	case IOMMUFD_EV_PINNED_UPDATE:
		fprintf(out, " %c%llu pages npinned=%llu account_mode=%u",
			e->flags ? '+' : '-', (unsigned long long)e->length,
			(unsigned long long)e->done, e->code);
		break;
	case IOMMUFD_EV_IOAS_ALLOC:
		fprintf(out, " ioas=%u", e->ioas_id);
		break;
	case IOMMUFD_EV_FAULT_ALLOC:
		fprintf(out, " fault=%u", e->fault_id);
		break;
	case IOMMUFD_EV_ACCESS_CREATE:
		fprintf(out, " access=%u", e->access_id);
		break;
	case IOMMUFD_EV_HWPT_ALLOC:
		fprintf(out, " hwpt=%u %s ioas=%u parent=%u dev=%u fault=%u flags=0x%x%s",
			e->hwpt_id,
			object_kind_name(e->object_kind), e->ioas_id,
			e->parent_hwpt_id, e->dev_id, e->fault_id, e->flags,
			e->auto_domain ? " auto" : "");
		break;
	case IOMMUFD_EV_DEVICE_BIND: {
		size_t len = 0;
		const char *name = bind_device(e, size, &len);

		fprintf(out, " dev=%u (%.*s)", e->dev_id, (int)len, name);
		break;
	}
	case IOMMUFD_EV_OBJECT_DESTROY:
		fprintf(out, " %s=%u", object_kind_name(e->object_kind),
			e->object_id);
		break;
	case IOMMUFD_EV_IOTLB_WAIT: {
		const struct iommufd_iotlb_wait_detail *w = event_iotlb_wait(e, size);
		char kinds[96];

		if (!w)
			break;
		fprintf(out, " hwpt=%u ioas=%u iommu=%.16s kinds=%s descriptors=%u did=%u iova=0x%llx length=0x%llx wait_ns=%llu total_ns=%llu",
			e->hwpt_id, e->ioas_id, w->iommu,
			qi_kinds_name(w->kinds, kinds, sizeof(kinds)), e->count,
			w->did, (unsigned long long)e->iova,
			(unsigned long long)e->length,
			(unsigned long long)e->duration_ns,
			(unsigned long long)w->total_ns);
		break;
	}
	case IOMMUFD_EV_ACCESS_PIN:
	case IOMMUFD_EV_ACCESS_UNPIN:
		fprintf(out, " access=%u ioas=%u iova=0x%llx length=0x%llx",
			e->access_id, e->ioas_id,
			(unsigned long long)e->iova,
			(unsigned long long)e->length);
		break;
	}
	fprintf(out, " ret=%d\n", e->ret);
}

/*
 * Each event with the fields that name what it holds (README documents
 * them); the common ones first. The schema is stable: fields are only ever
 * added.
 */
void print_event_json(FILE *out, const struct iommufd_event *e, size_t size)
{
	const struct iommufd_dma_fault_detail *f = event_dma_fault(e, size);
	struct json_writer w;

	json_begin(&w, out);
	json_u64(&w, "seq", e->seq);
	json_u64(&w, "ts_ns", e->ts_ns);
	json_str(&w, "event", event_type_name(e->type) ?: "unknown");
	json_s64(&w, "ret", e->ret);
	if (e->absent & IOMMUFD_ABSENT_OWNER)
		json_null(&w, "owner_tgid");
	else
		json_s64(&w, "owner_tgid", e->owner_tgid);
	json_s64(&w, "tgid", e->tgid);
	json_strn(&w, "comm", e->comm, sizeof(e->comm));
	/* Pinned pages are a process's, not a context's */
	if (e->absent & IOMMUFD_ABSENT_CTX)
		json_null(&w, "ctx");
	else if (e->type != IOMMUFD_EV_PINNED_UPDATE)
		json_u64(&w, "ctx", e->ctx);
	switch (e->type) {
	case IOMMUFD_EV_IOAS_MAP:
	case IOMMUFD_EV_IOAS_UNMAP:
		json_u64(&w, "ioas_id", e->ioas_id);
		json_u64(&w, "iova", e->iova);
		json_u64(&w, "length", e->length);
		json_u64_known(&w, "done", e->done,
			       !(e->absent & IOMMUFD_ABSENT_DONE));
		json_u64(&w, "flags", e->flags);
		json_u64_known(&w, "duration_ns", e->duration_ns,
			       !(e->absent & IOMMUFD_ABSENT_DURATION));
		if (e->absent & IOMMUFD_ABSENT_TALLY) {
			json_null(&w, "pinned");
			json_null(&w, "domain_unmaps");
		} else {
			json_s64(&w, "pinned", e->pinned);
			json_u64(&w, "domain_unmaps", e->domain_unmaps);
		}
		break;
	case IOMMUFD_EV_IOAS_COPY:
		json_u64(&w, "src_ioas_id", e->src_ioas_id);
		json_u64(&w, "src_iova", e->iova);
		json_u64(&w, "dst_ioas_id", e->ioas_id);
		json_u64(&w, "dst_iova", e->dst_iova);
		json_u64(&w, "length", e->length);
		json_u64(&w, "done", e->done);
		json_u64(&w, "flags", e->flags);
		json_u64_known(&w, "duration_ns", e->duration_ns,
			       !(e->absent & IOMMUFD_ABSENT_DURATION));
		break;
	case IOMMUFD_EV_DEVICE_REPLACE:
		json_u64_known(&w, "old_hwpt_id", e->old_hwpt_id,
			       !(e->absent & IOMMUFD_ABSENT_OLD_HWPT));
		/* fall through */
	case IOMMUFD_EV_DEVICE_ATTACH:
	case IOMMUFD_EV_DEVICE_DETACH:
		json_u64(&w, "dev_id", e->dev_id);
		json_u64_known(&w, "hwpt_id", e->hwpt_id,
			       !(e->absent & IOMMUFD_ABSENT_HWPT));
		json_u64_known(&w, "ioas_id", e->ioas_id,
			       !(e->absent & IOMMUFD_ABSENT_IOAS));
		json_u64(&w, "pasid", e->pasid);
		break;
	case IOMMUFD_EV_DOMAIN_UNMAP:
		json_u64(&w, "ioas_id", e->ioas_id);
		json_u64(&w, "iova", e->iova);
		json_u64(&w, "length", e->length);
		json_str(&w, "reason", domain_unmap_reason(e->code));
		break;
	case IOMMUFD_EV_HWPT_INVALIDATE:
		json_u64(&w, "hwpt_id", e->hwpt_id);
		json_u64(&w, "data_type", e->code);
		json_u64(&w, "entries", e->count);
		json_u64(&w, "done", e->done);
		break;
	case IOMMUFD_EV_DIRTY_TRACKING:
		json_u64(&w, "hwpt_id", e->hwpt_id);
		json_u64(&w, "ioas_id", e->ioas_id);
		json_bool(&w, "enable", e->flags);
		break;
	case IOMMUFD_EV_DIRTY_READ:
		json_u64(&w, "hwpt_id", e->hwpt_id);
		json_u64(&w, "ioas_id", e->ioas_id);
		json_u64(&w, "iova", e->iova);
		json_u64(&w, "length", e->length);
		json_u64(&w, "page_size", e->page_size);
		json_u64(&w, "flags", e->flags);
		json_u64(&w, "dirty_pages", e->done);
		json_u64(&w, "duration_ns", e->duration_ns);
		break;
	case IOMMUFD_EV_FAULT_REPORT:
		json_u64(&w, "fault_id", e->fault_id);
		json_u64(&w, "hwpt_id", e->hwpt_id);
		json_u64(&w, "dev_id", e->dev_id);
		json_u64(&w, "pasid", e->pasid);
		json_u64(&w, "addr", e->iova);
		json_u64(&w, "perm", e->perm);
		json_u64(&w, "grpid", e->grpid);
		json_u64(&w, "count", e->count);
		json_u64(&w, "flags", e->flags);
		break;
	case IOMMUFD_EV_FAULT_READ:
		json_u64(&w, "fault_id", e->fault_id);
		json_u64(&w, "dev_id", e->dev_id);
		json_u64(&w, "pasid", e->pasid);
		json_u64(&w, "addr", e->iova);
		json_u64(&w, "grpid", e->grpid);
		json_u64(&w, "count", e->count);
		json_u64(&w, "cookie", e->cookie);
		json_u64(&w, "queued_ns", e->queued_ns);
		break;
	case IOMMUFD_EV_FAULT_RESPOND:
		json_u64(&w, "fault_id", e->fault_id);
		json_u64(&w, "dev_id", e->dev_id);
		json_u64(&w, "pasid", e->pasid);
		json_u64(&w, "addr", e->iova);
		json_u64(&w, "grpid", e->grpid);
		json_u64(&w, "cookie", e->cookie);
		json_str(&w, "code", page_resp_code(e->code));
		json_u64_known(&w, "waited_ns", e->duration_ns,
			       !(e->absent & IOMMUFD_ABSENT_DURATION));
		json_u64_known(&w, "queued_ns", e->queued_ns,
			       !(e->absent & IOMMUFD_ABSENT_FAULT_STEPS));
		json_u64_known(&w, "handled_ns", e->handled_ns,
			       !(e->absent & IOMMUFD_ABSENT_FAULT_STEPS));
		break;
	case IOMMUFD_EV_FAULT_AUTO_RESPOND:
		json_u64(&w, "fault_id", e->fault_id);
		json_u64(&w, "dev_id", e->dev_id);
		json_u64(&w, "count", e->count);
		json_str(&w, "reason", auto_resp_reason(e->code));
		break;
	case IOMMUFD_EV_PINNED_UPDATE:
		json_str(&w, "direction", e->flags ? "pin" : "unpin");
		json_u64(&w, "pages", e->length);
		json_u64(&w, "npinned", e->done);
		json_u64(&w, "account_mode", e->code);
		break;
	case IOMMUFD_EV_CTX_OPEN:
	case IOMMUFD_EV_CTX_RELEASE:
		break;
	case IOMMUFD_EV_IOAS_ALLOC:
		json_u64(&w, "ioas_id", e->ioas_id);
		break;
	case IOMMUFD_EV_FAULT_ALLOC:
		json_u64(&w, "fault_id", e->fault_id);
		break;
	case IOMMUFD_EV_ACCESS_CREATE:
		json_u64(&w, "access_id", e->access_id);
		break;
	case IOMMUFD_EV_HWPT_ALLOC:
		json_u64(&w, "hwpt_id", e->hwpt_id);
		json_str(&w, "type", object_kind_name(e->object_kind));
		json_u64(&w, "ioas_id", e->ioas_id);
		json_u64(&w, "parent_hwpt_id", e->parent_hwpt_id);
		json_u64(&w, "dev_id", e->dev_id);
		json_u64(&w, "fault_id", e->fault_id);
		json_u64(&w, "flags", e->flags);
		json_bool(&w, "auto", e->auto_domain);
		break;
	case IOMMUFD_EV_DEVICE_BIND: {
		size_t len = 0;
		const char *name = bind_device(e, size, &len);

		json_u64(&w, "dev_id", e->dev_id);
		json_strn(&w, "device", name, len);
		break;
	}
	case IOMMUFD_EV_OBJECT_DESTROY:
		json_str(&w, "type", object_kind_name(e->object_kind));
		json_u64(&w, "id", e->object_id);
		break;
	case IOMMUFD_EV_ACCESS_PIN:
	case IOMMUFD_EV_ACCESS_UNPIN:
		json_u64(&w, "access_id", e->access_id);
		json_u64(&w, "ioas_id", e->ioas_id);
		json_u64(&w, "iova", e->iova);
		json_u64(&w, "length", e->length);
		break;
	case IOMMUFD_EV_IOTLB_WAIT: {
		const struct iommufd_iotlb_wait_detail *q = event_iotlb_wait(e, size);
		char kinds[96];

		if (!q)
			break;
		json_u64(&w, "hwpt_id", e->hwpt_id);
		json_u64(&w, "ioas_id", e->ioas_id);
		json_strn(&w, "iommu", q->iommu, sizeof(q->iommu));
		json_str(&w, "kinds", qi_kinds_name(q->kinds, kinds, sizeof(kinds)));
		json_u64(&w, "descriptors", e->count);
		json_u64(&w, "did", q->did);
		json_u64(&w, "iova", e->iova);
		json_u64(&w, "length", e->length);
		json_u64(&w, "wait_ns", e->duration_ns);
		json_u64(&w, "total_ns", q->total_ns);
		break;
	}
	case IOMMUFD_EV_DMA_FAULT:
		json_u64(&w, "dev_id", e->dev_id);
		json_u64(&w, "hwpt_id", e->hwpt_id);
		json_u64(&w, "ioas_id", e->ioas_id);
		json_u64(&w, "iova", e->iova);
		json_bool(&w, "pasid_valid", e->flags & IOMMUFD_DMA_FAULT_PASID);
		json_u64(&w, "pasid", e->pasid);
		json_u64(&w, "reason_code", e->code);
		break;
	}
	if (f) {
		json_bool(&w, "write", e->flags & IOMMUFD_DMA_FAULT_WRITE);
		json_bool(&w, "attributed", e->flags & IOMMUFD_DMA_FAULT_ATTRIBUTED);
		json_bool(&w, "decoded", e->flags & IOMMUFD_DMA_FAULT_DECODED);
		json_strn(&w, "device", f->device, sizeof(f->device));
		json_u64(&w, "source_id", f->source_id);
		json_str(&w, "kind", dmar_fault_kind(f->kind));
		json_strn(&w, "reason", dma_fault_reason(e, f), sizeof(f->reason));
		json_bool(&w, "after_unmap", e->flags & IOMMUFD_DMA_FAULT_AFTER_UNMAP);
		if (e->flags & IOMMUFD_DMA_FAULT_AFTER_UNMAP) {
			json_u64(&w, "unmap_iova", f->unmap_iova);
			json_u64(&w, "unmap_length", f->unmap_length);
			json_u64(&w, "unmap_age_ns", f->unmap_age_ns);
			json_s64(&w, "unmap_tgid", f->unmap_tgid);
			json_strn(&w, "unmap_comm", f->unmap_comm,
				  sizeof(f->unmap_comm));
		}
	}
	json_end(&w);
}
