#!/usr/bin/env bash
# Benchmarks hmsbackup create/restore against mysqldump | gzip -6 and
# gunzip | mysql on a throw-away MariaDB (see docs/BENCHMARKS.md).
#
#   ./bench/run.sh                                   # print the report
#   ./bench/run.sh -write-doc docs/BENCHMARKS.md     # also refresh the doc
#   ./bench/run.sh -sizes small:145000:2 -reps 3     # see -help for the rest
#
# Needs mariadbd, mariadb-install-db, mariadb-dump and mariadb (make test
# installs them: scripts/install-deps). Takes about 15-25 minutes on 2 CPUs.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
mkdir -p bin bench/results
$GO build -o bin/hmsbackup ./cmd/hmsbackup
$GO build -o bin/dumpbench ./bench/cmd/dumpbench
exec bin/dumpbench -hmsbackup bin/hmsbackup -json bench/results/latest.json "$@"
