#!/usr/bin/env bash
# Drives `scorejam run` with liblo's command-line tools, as a person at a terminal would: oscsend
# sends the commands, oscdump listens on the configured reply port ([osc] reply_port) and what it
# prints is checked line by line. The daemon replays examples/bach_prelude_c.mid instead of
# opening MIDI ports, so no JACK server is needed.
#
# Usage: osc_tools_test.sh SCOREJAM_EXE SOURCE_DIR
# Both UDP ports are chosen by the kernel (port 0) and read back, so two runs can share a machine.
set -euo pipefail

exe=${1:?usage: osc_tools_test.sh SCOREJAM_EXE SOURCE_DIR}
source_dir=${2:?usage: osc_tools_test.sh SCOREJAM_EXE SOURCE_DIR}
for tool in oscsend oscdump; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool not found (Debian package liblo-tools)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/scorejam-osc-tools.XXXXXX")
dump_pid=""
daemon_pid=""
cleanup() {
  if [[ -n $daemon_pid ]]; then
    kill -KILL "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  if [[ -n $dump_pid ]]; then
    kill "$dump_pid" 2>/dev/null || true
    wait "$dump_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
  echo "FAIL: $*" >&2
  echo "--- scorejam log" >&2
  cat "$work/daemon.log" >&2 2>/dev/null || true
  echo "--- oscdump" >&2
  cat "$work/dump.txt" >&2 2>/dev/null || true
  exit 1
}

# The UDP port a process has bound, found through its socket's inode in /proc/net/udp(6).
bound_udp_port() {
  local pid=$1 fd inode hex
  for fd in /proc/"$pid"/fd/*; do
    inode=$(readlink "$fd" 2>/dev/null | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p') || true
    [[ -n $inode ]] || continue
    hex=$(awk -v inode="$inode" '$10 == inode { split($2, local, ":"); print local[2]; exit }' \
      /proc/net/udp /proc/net/udp6 2>/dev/null) || true
    if [[ -n $hex ]]; then
      echo $((16#$hex))
      return 0
    fi
  done
  return 0
}

# oscdump on a port of the kernel's choosing: scorejam sends every reply there. Under `timeout`,
# so that it ends even if this script is killed without a chance to clean up (the daemon has
# --seconds for that).
timeout 300 oscdump -L 0 >"$work/dump.txt" 2>&1 &
dump_pid=$!
reply_port=""
for _ in $(seq 50); do
  for child in $(cat /proc/"$dump_pid"/task/"$dump_pid"/children 2>/dev/null); do
    reply_port=$(bound_udp_port "$child")
  done
  [[ -n $reply_port ]] && break
  kill -0 "$dump_pid" 2>/dev/null || fail "oscdump exited at start"
  sleep 0.1
done
[[ -n $reply_port ]] || fail "oscdump did not bind a UDP port within 5 s"

cat >"$work/config.toml" <<EOF
[runtime]
threads = 1

[live]
sampler = "pc"
steps = 10
model_dir = "$source_dir/models"

[osc]
reply_host = "127.0.0.1"
reply_port = $reply_port
EOF

"$exe" --config "$work/config.toml" run --replay "$source_dir/examples/bach_prelude_c.mid" --no-session \
  --osc-port 0 --seconds 60 >"$work/daemon.log" 2>&1 &
daemon_pid=$!

# Loading the model and its first evaluation come before the OSC server; allow a slow machine.
osc_port=""
for _ in $(seq 1200); do
  osc_port=$(sed -n 's/.*OSC: listening on UDP 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/daemon.log" | head -n 1)
  [[ -n $osc_port ]] && break
  kill -0 "$daemon_pid" 2>/dev/null || fail "scorejam exited before its OSC server listened"
  sleep 0.1
done
[[ -n $osc_port ]] || fail "scorejam did not log 'OSC: listening' within 120 s"

# send ADDRESS [TYPES ARGS...]: sends one message, waits (at most 10 s) for the one reply it gets
# and leaves that line of oscdump's output in $reply.
replies=0
reply=""
send() {
  oscsend 127.0.0.1 "$osc_port" "$@" || fail "oscsend $* failed"
  replies=$((replies + 1))
  for _ in $(seq 100); do
    if (($(wc -l <"$work/dump.txt") >= replies)); then
      reply=$(sed -n "${replies}p" "$work/dump.txt")
      return
    fi
    sleep 0.1
  done
  fail "no reply to $* within 10 s"
}

# expect FIXED_TEXT...: every text must occur in the last reply.
expect() {
  local text
  for text in "$@"; do
    [[ $reply == *"$text"* ]] || fail "expected '$text' in the reply to the last command: $reply"
  done
}

send /scorejam/status
expect '/scorejam/status.reply ' '"steps" 10 ' '"sampler" "pc"' '"mode" "continue"'

send /scorejam/steps i 12
expect '/scorejam/done s "/scorejam/steps"'
send /scorejam/status
expect '/scorejam/status.reply ' '"steps" 12 '

# A float for an integer setting takes the nearest integer: what Pd and TouchDesigner send.
send /scorejam/steps f 12.6
expect '/scorejam/done s "/scorejam/steps"'
send /scorejam/status
expect '"steps" 13 '

send /scorejam/mode s duet
expect '/scorejam/done s "/scorejam/mode"'
send /scorejam/status
expect '"mode" "duet"' '"steps" 13 '

send /scorejam/steps s x
expect '/scorejam/fail ss "/scorejam/steps" "steps must be a number'

send /scorejam/nope
expect '/scorejam/fail ss "/scorejam/nope" "unknown address'

# The refused commands changed nothing.
send /scorejam/status
expect '"mode" "duet"' '"steps" 13 '

kill -0 "$daemon_pid" 2>/dev/null || fail "scorejam exited before it was sent SIGTERM"
kill -TERM "$daemon_pid"
for _ in $(seq 300); do
  kill -0 "$daemon_pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$daemon_pid" 2>/dev/null && fail "scorejam still running 30 s after SIGTERM"
status=0
wait "$daemon_pid" || status=$?
daemon_pid=""
((status == 0)) || fail "scorejam exited with status $status after SIGTERM"
grep -q 'SIGTERM: stopping' "$work/daemon.log" || fail "scorejam did not log that SIGTERM stopped it"

echo "PASS: $((replies)) OSC replies checked; scorejam exited 0 on SIGTERM"
