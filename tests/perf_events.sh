#!/bin/sh
# perf sees the iommufd trace events: 'perf list' names them and
# 'perf record -e iommufd:*' captures a workload's records with their ids.
# Prints TAP and a kselftest-style "# Totals:" line.
workload=${WORKLOAD:-/opt/iommufd-bpf/tests/iommufd_workload}
. "$(dirname "$0")/tap.sh"

echo "TAP version 13"
listed=$(perf list 'iommufd:*' 2>/dev/null | grep -c 'iommufd:iommufd_.*Tracepoint event')
[ "$listed" = 32 ] && ok "perf list shows the 32 iommufd events" ||
	not_ok "perf list shows the 32 iommufd events" "listed $listed"

perf record -q -e 'iommufd:*' -o /tmp/perf.data -- \
	"$workload" --device -n 2 -p 1 > /tmp/wl.out 2>/tmp/perf.err
rc=$?
[ "$rc" = 0 ] && ok "perf record -e 'iommufd:*' runs the workload" ||
	not_ok "perf record -e 'iommufd:*' runs the workload" "exit $rc" "$(tail -3 /tmp/perf.err)"
perf script -i /tmp/perf.data > /tmp/perf.txt 2>/tmp/perf.err
pid=$(sed -n 's/^pid=\([0-9]*\) ioas=\([0-9]*\).*/\1/p' /tmp/wl.out)
ioas=$(sed -n 's/^pid=\([0-9]*\) ioas=\([0-9]*\).*/\2/p' /tmp/wl.out)
maps=$(grep -c "iommufd:iommufd_ioas_map: tgid=$pid ioas=$ioas iova=0x1000000 length=0x1000 done=0x1000 flags=0x7 ret=0 duration_ns=[0-9]* pinned=1 domain_unmaps=0" /tmp/perf.txt)
[ "$maps" = 2 ] && ok "perf script shows both maps with their ids and pinned page" ||
	not_ok "perf script shows both maps with their ids and pinned page" "found $maps" "$(head -5 /tmp/perf.txt)"
# Each unmap carries its domain unmap (IOTLB flush) and released page
unmaps=$(grep -c "iommufd:iommufd_ioas_unmap: tgid=$pid ioas=$ioas .* pinned=-1 domain_unmaps=1" /tmp/perf.txt)
[ "$unmaps" = 2 ] && ok "perf script shows both unmaps with their domain unmap" ||
	not_ok "perf script shows both unmaps with their domain unmap" "found $unmaps"
tap_end
