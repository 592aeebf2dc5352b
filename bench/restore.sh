#!/usr/bin/env bash
# Restore benchmark (issue 10): the Go replayer against `gunzip | mariadb`
# and `myloader -t 2` on the same databases, in the same run, interleaved.
#
#   bin/dumpbench -serve -workdir DIR -sizes text:1000000:0:text,large:650000:0 &   # fill, keep the server up
#   ./bench/restore.sh DIR ROUNDS SIZE...                                               # e.g. /tmp/b 3 text large
#
# For each SIZE it takes one hmsbackup backup (gzip) and one mydumper dump
# (gzip, 2 threads), then runs ROUNDS rounds, each in a rotated order of:
# the replayer with 1, 2 and 4 data connections (bench/cmd/replaybench,
# restore phase only), `gunzip < file | mariadb`, `myloader -t 2`, and the
# whole `hmsbackup restore` (pre-restore backup + restore). Every run
# prints a TSV line: size, method, round, wall s, mariadbd CPU s, peak RSS
# KiB of the restoring process tree (GNU time), and for hmsbackup restore
# its pre_restore_ms and restore_ms. Needs mydumper (apt-get install
# mydumper) and /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=$1 ROUNDS=$2
shift 2
GO=${GO:-go}
mkdir -p bin
$GO build -o bin/hmsbackup ./cmd/hmsbackup
$GO build -o bin/replaybench ./bench/cmd/replaybench
PID=$(cat "$DIR/mariadb/mariadbd.pid")
cpu() { awk '{print $14+$15}' "/proc/$PID/stat"; }

run() { # size method round cmd...
	local size=$1 method=$2 round=$3
	shift 3
	local before after out
	before=$(cpu)
	out=$( { /usr/bin/time -f 'TIME %e %M' "$@" > "$DIR/last.out" 2> "$DIR/last.err"; } 2>&1 || true)
	after=$(cpu)
	if ! grep -q '^TIME' "$DIR/last.err"; then
		echo "FAILED: $size $method: $(tail -3 "$DIR/last.err")" >&2
		return
	fi
	local t rss extra=""
	read -r _ t rss < <(grep '^TIME' "$DIR/last.err" | tail -1)
	if [ "$method" = hmsbackup-restore ]; then
		extra=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("pre_restore_ms",""), d.get("restore_ms",""), sep="\t")' "$DIR/last.out" 2>/dev/null || echo "-	-")
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$size" "$method" "$round" "$t" "$(echo "($after - $before)/100" | bc -l | xargs printf '%.2f')" "$rss" "$extra"
}

printf 'size\tmethod\tround\twall_s\tserver_cpu_s\tmaxrss_kib\tpre_restore_ms\trestore_ms\n'
for size in "$@"; do
	# shellcheck disable=SC1091
	. "$DIR/$size/env.sh"
	export HMSBACKUP_DATA_DIR HMSBACKUP_DB_DRIVER HMSBACKUP_DB_DSN
	bin/hmsbackup create --json > "$DIR/$size/create.json"
	id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$DIR/$size/create.json")
	file=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["file_path"])' "$DIR/$size/create.json")
	rm -rf "$DIR/$size/mydumper"
	mydumper --defaults-file="$DEFAULTS" -B "$DB" -o "$DIR/$size/mydumper" -t 2 -c -G -E -R -r 100000 --trx-consistency-only > "$DIR/$size/mydumper.log" 2>&1 ||
		true # without RELOAD it warns that it cannot take the global lock, and exits non-zero
	ls "$DIR/$size/mydumper/$DB".*.sql.gz > /dev/null # but the data must be there
	methods=(replay-1 replay-2 replay-4 gunzip-mariadb myloader-t2 hmsbackup-restore)
	for ((r = 0; r < ROUNDS; r++)); do
		for ((i = 0; i < ${#methods[@]}; i++)); do
			m=${methods[$(((i + r) % ${#methods[@]}))]}
			case $m in
			replay-*) run "$size" "$m" "$r" bin/replaybench -file "$file" -parallel "${m#replay-}" ;;
			gunzip-mariadb) run "$size" "$m" "$r" bash -o pipefail -c 'gunzip < "$1" | mariadb --defaults-file="$2" "$3"' _ "$file" "$DEFAULTS" "$DB" ;;
			myloader-t2) run "$size" "$m" "$r" myloader --defaults-file="$DEFAULTS" -d "$DIR/$size/mydumper" -B "$DB" -o -t 2 ;;
			hmsbackup-restore) run "$size" "$m" "$r" bin/hmsbackup restore "$id" --force --json ;;
			esac
		done
	done
done
