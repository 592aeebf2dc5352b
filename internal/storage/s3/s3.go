// Package s3 stores backup files as objects in a bucket of an S3-compatible
// object store (Amazon S3, MinIO, Ceph RGW, ...), through minio-go.
//
// Uploads stream as multipart uploads of Config.PartSize parts, so memory
// stays bounded by one part whatever the file size; an object becomes
// visible only when its upload completes, and a failed upload is aborted.
package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

var _ backup.Storage = (*Storage)(nil)

const (
	// DefaultPartSize is the multipart part size when Config.PartSize is 0.
	DefaultPartSize = 16 << 20
	// MinPartSize is the smallest part size S3 accepts for all but the last
	// part of a multipart upload.
	MinPartSize = 5 << 20
)

// Config says where and how to store backups.
type Config struct {
	// Endpoint is host:port, or a URL such as https://s3.example.org:9000
	// whose scheme then decides TLS.
	Endpoint string
	// Bucket must already exist.
	Bucket string
	// Prefix is prepended to every file name to make the object key, e.g.
	// "hms/". Names reported by List do not include it.
	Prefix string
	// Region, e.g. "us-east-1"; empty asks the server.
	Region    string
	AccessKey string
	SecretKey string
	// UseTLS selects https for a host:port Endpoint.
	UseTLS bool
	// ServerSideEncryption asks S3 to encrypt objects at rest with
	// S3-managed keys (SSE-S3).
	ServerSideEncryption bool
	// PartSize is the multipart part size in bytes: the memory one Put
	// holds. 0 means DefaultPartSize; otherwise at least MinPartSize.
	PartSize uint64
	// MaxRetries is how many times a failed request is tried; 0 means
	// minio-go's default (10), 1 disables retries.
	MaxRetries int
}

// String describes the configuration without the secret key, so it is safe
// to log.
func (c Config) String() string {
	secret := ""
	if c.SecretKey != "" {
		secret = "[redacted]"
	}
	return fmt.Sprintf("s3.Config{Endpoint: %q, Bucket: %q, Prefix: %q, Region: %q, AccessKey: %q, SecretKey: %s, UseTLS: %t, ServerSideEncryption: %t, PartSize: %d, MaxRetries: %d}",
		c.Endpoint, c.Bucket, c.Prefix, c.Region, c.AccessKey, secret, c.UseTLS, c.ServerSideEncryption, c.PartSize, c.MaxRetries)
}

// GoString is String, so %#v does not print the secret key either.
func (c Config) GoString() string { return c.String() }

// Storage is a bucket (and key prefix) of backup files. It is safe for
// concurrent use.
type Storage struct {
	client   *minio.Client
	endpoint string // host:port, for messages
	bucket   string
	prefix   string
	partSize uint64
	sse      encrypt.ServerSide // nil without SSE
}

// New returns a Storage on cfg.Bucket after checking that the bucket exists
// and the credentials work. An unreachable endpoint, rejected credentials or
// a missing bucket give EUNAVAILABLE; a bad configuration gives EINVALID.
func New(ctx context.Context, cfg Config) (*Storage, error) {
	host, secure, err := parseEndpoint(cfg.Endpoint, cfg.UseTLS)
	if err != nil {
		return nil, err
	}
	if cfg.Bucket == "" {
		return nil, backup.Errorf(backup.EINVALID, "no S3 bucket configured: set the bucket name")
	}
	if strings.HasPrefix(cfg.Prefix, "/") {
		return nil, backup.Errorf(backup.EINVALID, "S3 key prefix %q starts with '/': remove the leading slash", cfg.Prefix)
	}
	partSize := cfg.PartSize
	switch {
	case partSize == 0:
		partSize = DefaultPartSize
	case partSize < MinPartSize:
		return nil, backup.Errorf(backup.EINVALID, "S3 part size %d is below the S3 minimum of %d bytes (5 MiB)", partSize, MinPartSize)
	}
	if cfg.MaxRetries < 0 {
		return nil, backup.Errorf(backup.EINVALID, "S3 max retries %d is negative", cfg.MaxRetries)
	}
	client, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: minio.BucketLookupAuto,
		MaxRetries:   cfg.MaxRetries,
	})
	if err != nil {
		return nil, backup.Wrap(err, backup.EINVALID, "S3 endpoint %s", host)
	}
	s := &Storage{client: client, endpoint: host, bucket: cfg.Bucket, prefix: cfg.Prefix, partSize: partSize}
	if cfg.ServerSideEncryption {
		s.sse = encrypt.NewSSE()
	}
	ok, err := client.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, s.mapError(err, "check S3 bucket "+cfg.Bucket)
	}
	if !ok {
		return nil, s.noSuchBucket(nil)
	}
	return s, nil
}

// parseEndpoint accepts host:port or a URL and returns host:port and whether
// to use TLS.
func parseEndpoint(endpoint string, useTLS bool) (string, bool, error) {
	if endpoint == "" {
		return "", false, backup.Errorf(backup.EINVALID, "no S3 endpoint configured: set host:port or a URL")
	}
	if !strings.Contains(endpoint, "://") {
		return strings.TrimSuffix(endpoint, "/"), useTLS, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", false, backup.Wrap(err, backup.EINVALID, "invalid S3 endpoint %q", endpoint)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", false, backup.Errorf(backup.EINVALID, "S3 endpoint %q: scheme must be http or https", endpoint)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") {
		return "", false, backup.Errorf(backup.EINVALID, "S3 endpoint %q: give only scheme, host and port", endpoint)
	}
	return u.Host, u.Scheme == "https", nil
}

// Bucket is the bucket backups are stored in.
func (s *Storage) Bucket() string { return s.bucket }

// Prefix is the key prefix of every stored file.
func (s *Storage) Prefix() string { return s.prefix }

// PartSize is the multipart part size in use.
func (s *Storage) PartSize() uint64 { return s.partSize }

func (s *Storage) key(name string) string { return s.prefix + name }

// Put implements backup.Storage. It streams r as a multipart upload, so it
// holds one part in memory; an error from r or from S3, or a cancelled ctx,
// aborts the upload and leaves no object. An error from r is returned
// wrapped (errors.Is finds it).
//
// Every request of the upload (initiate, each part, complete, abort) that
// fails for a passing reason (429, 5xx, S3's SlowDown/InternalError and
// the like, a reset connection) is tried again by minio-go, up to
// Config.MaxRetries times with exponential backoff; a part is sent again
// from memory. Two cases it cannot see through are handled here: a
// complete whose answer was lost or cut short (the retry finds no such
// upload, though the object exists: when all was sent, Put accepts an
// object whose size and ETag are those of what it sent), and an initiate whose answer was lost (its
// upload is left open: Put aborts every open upload of the key after it
// is done).
func (s *Storage) Put(ctx context.Context, name string, r io.Reader) (int64, error) {
	if err := backup.CheckFileName(name); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("upload %s to S3: %w", name, err)
	}
	src := &sourceReader{ctx: ctx, r: r, partSize: int64(s.partSize), part: md5.New(), whole: md5.New()}
	defer s.abortOrphans(ctx, name)
	// An empty file goes up as a single PUT: some servers (gofakes3) reject
	// a multipart upload whose only part is empty.
	var first [1]byte
	n, err := io.ReadFull(src, first[:])
	if err != nil && err != io.EOF {
		return 0, fmt.Errorf("upload %s to S3: read the data: %w", name, err)
	}
	body, size := io.Reader(io.MultiReader(bytes.NewReader(first[:n]), src)), int64(-1)
	if n == 0 {
		body, size = bytes.NewReader(nil), 0
	}
	info, err := s.client.PutObject(ctx, s.bucket, s.key(name), body, size, minio.PutObjectOptions{
		PartSize:             s.partSize,
		ContentType:          "application/octet-stream",
		ServerSideEncryption: s.sse,
		// Unsigned payloads with a Content-MD5 per part instead of
		// aws-chunked streaming signatures: every S3-compatible server
		// (gofakes3 included) accepts these, and the MD5 still lets the
		// server reject a corrupted part.
		DisableContentSha256: true,
		SendContentMd5:       true,
	})
	if err != nil {
		if src.err != nil && errors.Is(err, src.err) {
			return 0, fmt.Errorf("upload %s to S3: read the data: %w", name, err)
		}
		// All was sent, so the object may exist although the answer said
		// otherwise (a lost answer to the complete makes its retry find no
		// such upload; an answer cut short looks like a network error).
		if src.eof && s.completedDespite(ctx, name, src) {
			return src.n, nil
		}
		return 0, s.mapError(err, "upload "+name+" to S3")
	}
	return info.Size, nil
}

// completedDespite reports whether the object name holds exactly what src
// sent: the same size, and an ETag made of its parts' MD5s (as S3 gives a
// multipart upload) or the MD5 of all of it (as some S3-compatible servers
// do).
func (s *Storage) completedDespite(ctx context.Context, name string, src *sourceReader) bool {
	oi, err := s.client.StatObject(ctx, s.bucket, s.key(name), minio.StatObjectOptions{})
	if err != nil || oi.Size != src.n {
		return false
	}
	etag := strings.Trim(oi.ETag, `"`)
	return etag == src.multipartETag() || etag == hex.EncodeToString(src.whole.Sum(nil))
}

// abortOrphans aborts every multipart upload of name left open, best
// effort: one whose initiate answer was lost is known to nobody else.
func (s *Storage) abortOrphans(ctx context.Context, name string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	_ = s.client.RemoveIncompleteUpload(ctx, s.bucket, s.key(name))
}

// sourceReader remembers the error its reader returned, so Put can tell it
// from an S3 error, stops a copy when ctx is cancelled, and computes the
// ETags S3 servers give what was read: the MD5 of its parts' MD5s (parts
// of partSize bytes, as minio-go cuts them) for a multipart upload, or the
// MD5 of all of it.
type sourceReader struct {
	ctx context.Context
	r   io.Reader
	err error
	eof bool  // r was read to its end
	n   int64 // bytes read

	partSize int64
	part     hash.Hash // MD5 of the current part
	inPart   int64     // its bytes so far
	sums     []byte    // MD5s of the parts before it
	whole    hash.Hash // MD5 of everything
}

func (s *sourceReader) Read(p []byte) (int, error) {
	if err := s.ctx.Err(); err != nil {
		s.err = err
		return 0, err
	}
	n, err := s.r.Read(p)
	s.sum(p[:n])
	switch {
	case err == io.EOF:
		s.eof = true
	case err != nil:
		s.err = err
	}
	return n, err
}

func (s *sourceReader) sum(b []byte) {
	s.n += int64(len(b))
	s.whole.Write(b)
	for len(b) > 0 {
		k := min(int64(len(b)), s.partSize-s.inPart)
		s.part.Write(b[:k])
		s.inPart += k
		b = b[k:]
		if s.inPart == s.partSize {
			s.sums = s.part.Sum(s.sums)
			s.part.Reset()
			s.inPart = 0
		}
	}
}

// multipartETag is the ETag of an object uploaded in parts from what was
// read: hex(MD5(MD5(part 1) ... MD5(part N)))-N.
func (s *sourceReader) multipartETag() string {
	sums := s.sums
	if s.inPart > 0 {
		sums = s.part.Sum(sums)
	}
	whole := md5.Sum(sums)
	return fmt.Sprintf("%s-%d", hex.EncodeToString(whole[:]), len(sums)/md5.Size)
}

// Open implements backup.Storage. The content streams from S3 as it is read;
// the request is made before Open returns, so an absent file gives
// ENOTFOUND here. ctx bounds the reading too.
func (s *Storage) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := backup.CheckFileName(name); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.key(name), minio.GetObjectOptions{})
	if err != nil {
		return nil, s.mapError(err, "open "+name+" on S3")
	}
	// Stat asks the server (a HEAD) before any content is read.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, s.notFoundError(ctx, err, "open "+name+" on S3")
	}
	return &objectReader{obj: obj, s: s, name: name}, nil
}

// objectReader maps errors that happen while reading.
type objectReader struct {
	obj  *minio.Object
	s    *Storage
	name string
}

func (o *objectReader) Read(p []byte) (int, error) {
	n, err := o.obj.Read(p)
	if err != nil && err != io.EOF {
		err = o.s.mapError(err, "read "+o.name+" from S3")
	}
	return n, err
}

func (o *objectReader) Close() error { return o.obj.Close() }

// Stat implements backup.Storage.
func (s *Storage) Stat(ctx context.Context, name string) (backup.FileInfo, error) {
	if err := backup.CheckFileName(name); err != nil {
		return backup.FileInfo{}, err
	}
	oi, err := s.client.StatObject(ctx, s.bucket, s.key(name), minio.StatObjectOptions{})
	if err != nil {
		return backup.FileInfo{}, s.notFoundError(ctx, err, "stat "+name+" on S3")
	}
	return backup.FileInfo{Name: name, Size: oi.Size, ModTime: oi.LastModified}, nil
}

// List implements backup.Storage. It lists every object under the storage's
// key prefix followed by prefix, across all result pages.
func (s *Storage) List(ctx context.Context, prefix string) ([]backup.FileInfo, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the lister goroutine if we return early
	var out []backup.FileInfo
	for oi := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{
		Prefix:    s.key(prefix),
		Recursive: true,
	}) {
		if oi.Err != nil {
			return nil, s.mapError(oi.Err, "list S3 bucket "+s.bucket)
		}
		name := strings.TrimPrefix(oi.Key, s.prefix)
		if backup.CheckFileName(name) != nil {
			continue // not written by this Storage (e.g. a "folder/" key)
		}
		out = append(out, backup.FileInfo{Name: name, Size: oi.Size, ModTime: oi.LastModified})
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list S3 bucket %s: %w", s.bucket, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Delete implements backup.Storage.
func (s *Storage) Delete(ctx context.Context, name string) error {
	if err := backup.CheckFileName(name); err != nil {
		return err
	}
	err := s.client.RemoveObject(ctx, s.bucket, s.key(name), minio.RemoveObjectOptions{})
	if err != nil && !errors.Is(s.mapError(err, ""), backup.ErrNotFound) {
		return s.mapError(err, "delete "+name+" on S3")
	}
	return nil
}

// mapError turns a minio-go error into a backup error that says what to do.
// doing describes the operation, e.g. "upload x to S3".
func (s *Storage) mapError(err error, doing string) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		switch er.Code {
		case minio.NoSuchKey, "NotFound":
			return backup.Wrap(err, backup.ENOTFOUND, "%s: no such file in bucket %s", doing, s.bucket)
		case minio.NoSuchBucket:
			return s.noSuchBucket(err)
		case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken":
			return backup.Wrap(err, backup.EUNAVAILABLE, "%s: S3 at %s refused access to bucket %s: check the S3 access key and secret (and the bucket policy)", doing, s.endpoint, s.bucket)
		}
		switch er.StatusCode {
		case http.StatusNotFound:
			return backup.Wrap(err, backup.ENOTFOUND, "%s: no such file in bucket %s", doing, s.bucket)
		case http.StatusForbidden, http.StatusUnauthorized:
			return backup.Wrap(err, backup.EUNAVAILABLE, "%s: S3 at %s refused access to bucket %s: check the S3 access key and secret (and the bucket policy)", doing, s.endpoint, s.bucket)
		case http.StatusServiceUnavailable, http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout, http.StatusTooManyRequests:
			return backup.Wrap(err, backup.EUNAVAILABLE, "%s: S3 at %s is failing (HTTP %d): try again later", doing, s.endpoint, er.StatusCode)
		}
		return fmt.Errorf("%s: %w", doing, err)
	}
	var netErr net.Error
	var urlErr *url.Error
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.As(err, &netErr) || errors.As(err, &urlErr) {
		return backup.Wrap(err, backup.EUNAVAILABLE, "%s: cannot reach S3 endpoint %s: check the endpoint address and that the server is running", doing, s.endpoint)
	}
	return fmt.Errorf("%s: %w", doing, err)
}

// notFoundError is mapError for a HEAD of an object: a HEAD's 404 has no
// body, so a missing bucket looks like a missing object; it asks which.
func (s *Storage) notFoundError(ctx context.Context, err error, doing string) error {
	mapped := s.mapError(err, doing)
	if errors.Is(mapped, backup.ErrNotFound) {
		if ok, berr := s.client.BucketExists(ctx, s.bucket); berr == nil && !ok {
			return s.noSuchBucket(err)
		}
	}
	return mapped
}

func (s *Storage) noSuchBucket(err error) error {
	return backup.Wrap(err, backup.EUNAVAILABLE, "S3 bucket %s does not exist at %s: create bucket %s or fix the bucket name", s.bucket, s.endpoint, s.bucket)
}
