#!/usr/bin/env bash
# Web UI speed (docs/BENCHMARKS.md, "Web UI"): the server time of each
# page with 10,000 backups and 12,000 audit entries in the catalog
# (BenchmarkPages), and a 256 MiB download streamed over HTTP next to
# reading the file with io.Copy, cat and dd iflag=direct, with the peak
# of the heap (BenchmarkDownload). Both in internal/web/render_bench_test.go.
#
#   ./bench/web.sh              # COUNT=3 PAGES=300x DOWNLOADS=5x by default
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
COUNT=${COUNT:-3}
$GO test -run '^$' -bench 'BenchmarkPages' -benchtime "${PAGES:-300x}" -count "$COUNT" ./internal/web
$GO test -run '^$' -bench 'BenchmarkDownload' -benchtime "${DOWNLOADS:-5x}" -count "$COUNT" ./internal/web
