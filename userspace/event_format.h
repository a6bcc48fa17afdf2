/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Names, parsing and printing of iommufd_event records (text and JSON). */
#ifndef IOMMUFD_BPF_EVENT_FORMAT_H
#define IOMMUFD_BPF_EVENT_FORMAT_H

#include <stdio.h>
#include <stdint.h>
#include <linux/types.h>
#include "iommufd_trace.h"

/* "ioas_map", ... for an enum iommufd_event_type; NULL if out of range */
const char *event_type_name(uint32_t type);

/*
 * Parse a comma-separated list of event names ("ioas_map,fault_report") or
 * "all" into a mask of (1 << type). Returns 0, or -1 and sets *bad to the
 * first unknown name (pointing into a static copy).
 */
int parse_event_list(const char *list, uint32_t *mask, const char **bad);

/* Comma-separated names of every event, for --help */
const char *event_names_help(void);

/*
 * Print one record of @size bytes as one line (text or a JSON object),
 * newline included. A dma_fault record carries a detail after the event.
 */
void print_event_text(FILE *out, const struct iommufd_event *e, size_t size);
void print_event_json(FILE *out, const struct iommufd_event *e, size_t size);

/* The detail of a dma_fault record of @size bytes, or NULL */
const struct iommufd_dma_fault_detail *event_dma_fault(const struct iommufd_event *e,
						       size_t size);


/* What went wrong: the driver's reason name, or "read/write fault" */
/* The detail of an iotlb_wait record of @size bytes, or NULL */
const struct iommufd_iotlb_wait_detail *event_iotlb_wait(const struct iommufd_event *e,
							 size_t size);
const char *dma_fault_reason(const struct iommufd_event *e,
			     const struct iommufd_dma_fault_detail *f);

#endif
