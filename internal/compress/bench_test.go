package compress_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/compress"
)

// dumpLike is 32 MiB of text shaped like a mysqldump of a patients table:
// extended INSERTs mixing repeated words, numbers, dates and hex.
func dumpLike() []byte {
	r := rand.New(rand.NewPCG(1, 2))
	names := []string{"Ann", "Bob", "Zoë", "Olu", "Mei", "Raj", "Ivan", "Fatima", "Lars", "Ana"}
	var sb strings.Builder
	for sb.Len() < 32<<20 {
		sb.WriteString("INSERT INTO `patients` VALUES ")
		for i := 0; i < 200; i++ {
			fmt.Fprintf(&sb, "(%d,'%s','%s','19%02d-%02d-%02d',%d.%02d,'%x'),", r.IntN(1e7), names[r.IntN(len(names))],
				names[r.IntN(len(names))], r.IntN(100), 1+r.IntN(12), 1+r.IntN(28), r.IntN(1e5), r.IntN(100), r.Uint64())
		}
		sb.WriteString("(0,'','','2000-01-01',0,'');\n")
	}
	return []byte(sb.String())
}

// BenchmarkCompress reports MB/s of uncompressed input and the ratio.
func BenchmarkCompress(b *testing.B) {
	data := dumpLike()
	for _, c := range []backup.Compression{backup.CompressionGzip, backup.CompressionZstd} {
		b.Run(string(c), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var out countWriter
			for i := 0; i < b.N; i++ {
				out = 0
				zw, err := compress.NewWriter(&out, c, compress.LevelDefault)
				if err != nil {
					b.Fatal(err)
				}
				for off := 0; off < len(data); off += 256 << 10 {
					zw.Write(data[off:min(off+256<<10, len(data))])
				}
				zw.Close()
			}
			b.ReportMetric(float64(out)/float64(len(data)), "ratio")
		})
	}
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
