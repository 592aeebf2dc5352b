#!/usr/bin/env bash
# Measures what the server adds (docs/BENCHMARKS.md, "Server"):
#  - a backup through the queue (`create --queue`, run by `serve`) against
#    the same backup taken directly (`create`), alternating, REPS each, on
#    the embedded SQLite sample database;
#  - an idle `serve`'s CPU (over IDLE seconds) and resident memory.
#
#   ./bench/serve.sh            # REPS=15 IDLE=30 by default
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${REPS:-15}
IDLE=${IDLE:-30}
GO=${GO:-go}
mkdir -p bin
$GO build -o bin/hmsbackup ./cmd/hmsbackup
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
export HMSBACKUP_DATA_DIR=$dir HMSBACKUP_LISTEN=127.0.0.1:$port
bin/hmsbackup list >/dev/null
bin/hmsbackup serve 2>"$dir/serve.log" &
pid=$!
sleep 2

ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
direct=() queued=()
for _ in $(seq "$REPS"); do
  direct+=("$(ms bin/hmsbackup create)")
  queued+=("$(ms bin/hmsbackup create --queue)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
md=$(median "${direct[@]}"); mq=$(median "${queued[@]}")
echo "backup of the sample database, median of $REPS: direct ${md} ms, through the queue ${mq} ms, added $((mq - md)) ms"
echo "  direct: ${direct[*]}"
echo "  queued: ${queued[*]}"

# Idle: no schedule, nothing queued.
sleep 2
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks); sleep "$IDLE"; t1=$(ticks)
hz=$(getconf CLK_TCK)
cpu=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v s="$IDLE" 'BEGIN {printf "%.2f", 100 * d / hz / s}')
rss=$(awk '/VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
echo "idle serve over ${IDLE} s: ${cpu}% of one CPU, RSS ${rss} MiB"
