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

check_eq() { # NAME GOT WANT
	if [ "$2" = "$3" ]; then ok "$1 ($2)"; else not_ok "$1" "got '$2', want '$3'"; fi
}

# Start "$@" in the background with stdout in $tmp/$name.out, stderr in
# $tmp/$name.err, and wait (up to 30 s) for its ready line on stderr;
# sets $bg to its pid
start_bg() { # NAME READY-PATTERN CMD...
	name=$1 ready=$2; shift 2
	"$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	bg=$!
	i=0
	while ! grep -q "$ready" "$tmp/$name.err" 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1; i=$((i + 1))
	done
}

# The plan and totals; the suite's exit status
tap_end() {
	echo "1..$n"
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
	[ "$fail" = 0 ]
}
