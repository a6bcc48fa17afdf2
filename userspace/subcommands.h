/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Entry points of the iommufd-bpf subcommands: argv[0] is the subcommand. */
#ifndef IOMMUFD_BPF_SUBCOMMANDS_H
#define IOMMUFD_BPF_SUBCOMMANDS_H

int cmd_trace(int argc, char **argv);
int cmd_dirty(int argc, char **argv);
int cmd_forecast(int argc, char **argv);
int cmd_fault(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_hist(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_probe(int argc, char **argv);

#endif
