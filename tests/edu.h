/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * QEMU's edu PCI device (hw/misc/edu.c), the vtd profile's real DMA engine:
 * its ids and BAR0 register map, shared by the vtd suites.
 */
#ifndef IOMMUFD_BPF_TESTS_EDU_H
#define IOMMUFD_BPF_TESTS_EDU_H

#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8

#define EDU_IDENT	0x00
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_COUNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_START	0x1	/* RAM -> device; edu runs it 100 ms later */
#define EDU_CMD_TO_RAM	0x2	/* direction: device buffer -> RAM */
#define EDU_BUF_ADDR	0x40000	/* the device's internal 4 KiB buffer */

#endif
