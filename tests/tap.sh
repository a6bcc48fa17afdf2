# TAP for the shell suites, sourced by tests/*_cli.sh and friends (not a
# suite itself). A suite sets $tmp when it uses expect_exit, calls ok /
# not_ok / expect_exit, and ends with 'tap_end', which prints the plan and
# the kselftest-style "# Totals:" line guest-run.sh reads.
pass=0 fail=0 n=0

ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n $1"; }
not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; shift; for l in "$@"; do echo "# $l"; done; }

# expect_exit STATUS NAME PATTERN -- CMD...: exit status and a message
expect_exit() {
	want=$1 name=$2 pattern=$3; shift 4
	"$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
	if [ "$rc" != "$want" ]; then
		not_ok "$name" "exit $rc, want $want" "$(head -3 "$tmp/err")"
	elif [ -n "$pattern" ] && ! grep -q -- "$pattern" "$tmp/err" "$tmp/out"; then
		not_ok "$name" "no '$pattern' in the output" "$(head -3 "$tmp/out" "$tmp/err")"
	else
		ok "$name"
	fi
}

# The plan and totals; the suite's exit status
tap_end() {
	echo "1..$n"
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
	[ "$fail" = 0 ]
}
