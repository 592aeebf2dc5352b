// Package gdrive stores backup files in one Google Drive folder through the
// Drive v3 API. A file's name is its Drive file name in that folder. Puts
// are resumable uploads whose MD5 is checked against Drive's md5Checksum; a
// Put of an existing name uploads a new file first and then deletes the
// older ones, so readers always see a whole file.
package gdrive

import (
	"cmp"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
	mathrand "math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/auth"
	"golang.org/x/oauth2"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
	"google.golang.org/api/option/internaloption"
	htransport "google.golang.org/api/transport/http"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

var _ backup.Storage = (*Storage)(nil)

// DefaultChunkSize is the resumable upload chunk used when Config.ChunkSize
// is zero.
const DefaultChunkSize = 8 << 20

// Drive v3's API addresses, as the generated client has them.
const (
	defaultEndpoint         = "https://www.googleapis.com/drive/v3/"
	defaultEndpointTemplate = "https://www.UNIVERSE_DOMAIN/drive/v3/"
	defaultMTLSEndpoint     = "https://www.mtls.googleapis.com/drive/v3/"
)

// DefaultPageSize is the number of files asked for per list request when
// Config.PageSize is zero (Drive's maximum).
const DefaultPageSize = 1000

// uploadProperty is the appProperties key tagging each Put's upload, so
// that a Put whose outcome is unknown can find and delete what it made.
const uploadProperty = "hmsbackupUpload"

// fileFields are the file resource fields the Storage reads.
const fileFields = "id, name, size, md5Checksum, createdTime, modifiedTime"

// Config says where and how to reach Drive.
type Config struct {
	// FolderID is the Drive folder (in My Drive or a shared drive) that
	// holds the backup files. Required.
	FolderID string
	// Endpoint overrides the API base URL, e.g. a drivefake server's URL;
	// it must end in "/drive/v3/". Empty means Google's.
	Endpoint string
	// ChunkSize is the resumable upload chunk in bytes; Drive rounds it up
	// to a multiple of 256 KiB. Zero means DefaultChunkSize.
	ChunkSize int
	// PageSize is the number of files per list request (1 to 1000). Zero
	// means DefaultPageSize.
	PageSize int
	// TokenSource supplies OAuth2 access tokens. Exactly one of
	// TokenSource, CredentialsFile, CredentialsJSON and HTTPClient must be
	// set.
	TokenSource oauth2.TokenSource
	// CredentialsFile is the path of a service-account key or an
	// authorised-user (OAuth refresh token) JSON file.
	CredentialsFile string
	// CredentialsJSON is such a file's content (e.g. opened from the
	// settings' sealed google_credentials). Never logged.
	CredentialsJSON []byte
	// HTTPClient is a client that already authorises its requests.
	HTTPClient *http.Client
	// Retry says how calls failing for a passing reason are retried; the
	// zero value is the defaults (5 tries, waits from 1s up to 32s).
	Retry RetryPolicy
}

// Storage is a Drive folder of backup files. It is safe for concurrent use.
type Storage struct {
	svc       *drive.Service
	http      *http.Client // authorised; for the resumable uploads
	uploadURL string       // where resumable uploads start
	folderID  string
	chunkSize int
	pageSize  int
	retry     RetryPolicy

	// sleep waits between tries and jitter returns a number in [0, 1) to
	// spread the waits; tests replace them.
	sleep  func(ctx context.Context, d time.Duration) error
	jitter func() float64
}

// New returns a Storage for cfg. It does not contact Drive.
func New(ctx context.Context, cfg Config) (*Storage, error) {
	if cfg.FolderID == "" {
		return nil, backup.Errorf(backup.EINVALID, "no Google Drive folder ID configured")
	}
	if cfg.ChunkSize < 0 || cfg.PageSize < 0 || cfg.PageSize > 1000 {
		return nil, backup.Errorf(backup.EINVALID, "invalid Google Drive chunk size %d or page size %d", cfg.ChunkSize, cfg.PageSize)
	}
	retry, err := cfg.Retry.withDefaults()
	if err != nil {
		return nil, err
	}
	var opts []option.ClientOption
	n := 0
	if cfg.TokenSource != nil {
		opts = append(opts, option.WithTokenSource(cfg.TokenSource))
		n++
	}
	if cfg.CredentialsFile != "" {
		typ, err := credentialsType(cfg.CredentialsFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, option.WithAuthCredentialsFile(typ, cfg.CredentialsFile), option.WithScopes(drive.DriveScope))
		n++
	}
	if len(cfg.CredentialsJSON) > 0 {
		typ, err := CredentialsType(cfg.CredentialsJSON)
		if err != nil {
			return nil, backup.Wrap(err, backup.EINVALID, "the Google Drive credentials (google_credentials setting)")
		}
		opts = append(opts, option.WithAuthCredentialsJSON(typ, cfg.CredentialsJSON), option.WithScopes(drive.DriveScope))
		n++
	}
	if cfg.HTTPClient != nil {
		opts = append(opts, option.WithHTTPClient(cfg.HTTPClient))
		n++
	}
	if n != 1 {
		return nil, backup.Errorf(backup.EINVALID, "configure exactly one way to sign in to Google Drive (a credentials file, credentials JSON, a token source or an HTTP client); got %d", n)
	}
	if cfg.Endpoint != "" {
		opts = append(opts, option.WithEndpoint(cfg.Endpoint))
	}
	// One authorised client serves both the generated API calls and the
	// resumable uploads, which hmsbackup speaks itself (upload.go). The
	// defaults are those drive.NewService applies.
	opts = append([]option.ClientOption{internaloption.WithDefaultScopes(drive.DriveScope)}, opts...)
	opts = append(opts,
		internaloption.WithDefaultEndpoint(defaultEndpoint),
		internaloption.WithDefaultEndpointTemplate(defaultEndpointTemplate),
		internaloption.WithDefaultMTLSEndpoint(defaultMTLSEndpoint),
		internaloption.EnableNewAuthLibrary())
	client, endpoint, err := htransport.NewClient(ctx, opts...)
	if err != nil {
		return nil, mapError(err, "connect to Google Drive")
	}
	endpoint = cmp.Or(endpoint, defaultEndpoint)
	svc, err := drive.NewService(ctx, option.WithHTTPClient(client), option.WithEndpoint(endpoint))
	if err != nil {
		return nil, mapError(err, "connect to Google Drive")
	}
	s := &Storage{
		svc:       svc,
		http:      client,
		uploadURL: googleapi.ResolveRelative(endpoint, "/upload/drive/v3/files"),
		folderID:  cfg.FolderID,
		chunkSize: roundUp(cmp.Or(cfg.ChunkSize, DefaultChunkSize), uploadQuantum),
		pageSize:  cmp.Or(cfg.PageSize, DefaultPageSize),
		retry:     retry,
		sleep:     sleepCtx,
		jitter:    mathrand.Float64,
	}
	return s, nil
}

// roundUp rounds n up to a multiple of q.
func roundUp(n, q int) int { return (n + q - 1) / q * q }

// credentialsType reads the "type" of a Google credentials JSON file and
// accepts only the two kinds hmsbackup uses.
// It refuses a file other users can read: the key opens the hospital's
// backups.
func credentialsType(path string) (option.CredentialsType, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return "", backup.Errorf(backup.EINVALID, "the Google Drive credentials file %s can be read by other users (mode %04o): run chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", backup.Wrap(err, backup.EINVALID, "cannot read the Google Drive credentials file")
	}
	typ, err := CredentialsType(b)
	if err != nil {
		return "", backup.Wrap(err, backup.EINVALID, "the Google Drive credentials file %s", path)
	}
	return typ, nil
}

// MaxCredentialsSize bounds a credentials JSON file (Google's are 2-3 KB).
const MaxCredentialsSize = 64 << 10

// CredentialsType checks a Google credentials JSON file's content and
// returns its kind: a service-account key ("type": "service_account",
// with client_email and a PEM private_key) or an authorised-user file
// ("type": "authorized_user", with client_id, client_secret and
// refresh_token). Its errors say what is wrong and what to do, never
// quoting the content: it holds a private key.
func CredentialsType(b []byte) (option.CredentialsType, error) {
	if len(b) > MaxCredentialsSize {
		return "", backup.Errorf(backup.EINVALID, "is %d bytes long, more than a Google credentials file's %d: upload the service account's JSON key file", len(b), MaxCredentialsSize)
	}
	var f struct {
		Type         string `json:"type"`
		ClientEmail  string `json:"client_email"`
		PrivateKey   string `json:"private_key"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		// The syntax error's text could quote a piece of the key.
		return "", backup.Errorf(backup.EINVALID, "is not JSON: upload the service account's key file as Google Cloud gave it (IAM, Service accounts, Keys, Add key, JSON)")
	}
	var missing []string
	switch f.Type {
	case "service_account":
		if strings.TrimSpace(f.ClientEmail) == "" {
			missing = append(missing, "client_email")
		}
		if strings.TrimSpace(f.PrivateKey) == "" {
			missing = append(missing, "private_key")
		} else if blk, _ := pem.Decode([]byte(f.PrivateKey)); blk == nil || !strings.Contains(blk.Type, "PRIVATE KEY") {
			return "", backup.Errorf(backup.EINVALID, "is a service-account key whose private_key is not a PEM private key: download a new JSON key for the service account")
		}
		if len(missing) > 0 {
			return "", backup.Errorf(backup.EINVALID, "is a service-account key without %s: download a new JSON key for the service account", strings.Join(missing, " and "))
		}
		return option.ServiceAccount, nil
	case "authorized_user":
		for _, m := range []struct{ name, v string }{{"client_id", f.ClientID}, {"client_secret", f.ClientSecret}, {"refresh_token", f.RefreshToken}} {
			if strings.TrimSpace(m.v) == "" {
				missing = append(missing, m.name)
			}
		}
		if len(missing) > 0 {
			return "", backup.Errorf(backup.EINVALID, "is an authorised-user (OAuth) file without %s: authorise again and save the new file", strings.Join(missing, ", "))
		}
		return option.AuthorizedUser, nil
	case "":
		return "", backup.Errorf(backup.EINVALID, "has no \"type\": it is not a Google credentials file; use a service account's JSON key (\"type\": \"service_account\")")
	}
	return "", backup.Errorf(backup.EINVALID, "has type %q; use a service account's JSON key (\"service_account\") or an authorised-user (OAuth) file (\"authorized_user\")", oneWord(f.Type))
}

// oneWord shortens a value for a message.
func oneWord(s string) string {
	if len(s) > 40 || strings.ContainsAny(s, " \n\r\t") {
		return s[:min(len(s), 40)] + "…"
	}
	return s
}

// Put implements backup.Storage: a resumable upload into the folder whose
// MD5 must match Drive's md5Checksum (else ECORRUPT, and the upload is
// deleted); older files of the same name are then deleted, best effort.
// Every request of the upload is retried as the retry policy says, holding
// one chunk of r in memory, so r need not be seekable. When the upload
// fails, Put also deletes the file it may have made (its response lost on
// the way), found by a tag in its appProperties. If Drive loses the upload
// session or stores a damaged file, and r is an io.ReadSeeker, the upload
// is made again from where r was, as the policy says.
func (s *Storage) Put(ctx context.Context, name string, r io.Reader) (int64, error) {
	if err := backup.CheckFileName(name); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("upload %s to Google Drive: %w", name, err)
	}
	rs, rewind := r.(io.ReadSeeker)
	var start int64
	if rewind {
		var err error
		if start, err = rs.Seek(0, io.SeekCurrent); err != nil {
			rewind = false
		}
	}
	for attempt := 1; ; attempt++ {
		n, again, err := s.put(ctx, name, r)
		if err == nil || !again || !rewind {
			return n, err
		}
		if attempt >= s.retry.MaxAttempts {
			return 0, gaveUp(err, attempt-1)
		}
		if serr := s.sleep(ctx, s.backoff(attempt-1)); serr != nil {
			return 0, fmt.Errorf("upload %s to Google Drive: %w (while waiting to retry after: %v)", name, serr, err)
		}
		if _, serr := rs.Seek(start, io.SeekStart); serr != nil {
			return 0, err
		}
	}
}

// put makes one upload for Put; again reports whether it may pass when
// made again from the start (Drive lost the session, or the file arrived
// damaged). Every request of the upload is already retried on its own.
func (s *Storage) put(ctx context.Context, name string, r io.Reader) (n int64, again bool, err error) {
	tag := make([]byte, 16)
	rand.Read(tag)
	uploadID := hex.EncodeToString(tag)
	cr := &countingReader{ctx: ctx, r: r, h: md5.New()}
	meta := &drive.File{
		Name:          name,
		Parents:       []string{s.folderID},
		MimeType:      "application/octet-stream",
		AppProperties: map[string]string{uploadProperty: uploadID},
	}
	u, f, err := s.upload(ctx, meta, cr)
	if err == nil && cr.n > 0 && (f.Md5Checksum == "" || f.Size == 0) {
		// The answer did not say what Drive stored: ask.
		f, err = s.fileMeta(ctx, f.Id, "check the upload of "+name+" on Google Drive")
	}
	if err != nil {
		again = cr.err == nil && errors.Is(err, errSessionLost)
		if cr.err != nil && !errors.Is(err, cr.err) {
			err = fmt.Errorf("%w (%v)", cr.err, err)
		}
		// The upload may have completed with its answer lost: remove
		// whatever it made, so that a failed Put leaves nothing behind.
		if u != nil {
			u.cancel(ctx)
		}
		if cerr := s.removeUpload(ctx, uploadID); cerr != nil {
			err = fmt.Errorf("%w (and removing a possibly completed upload failed: %v)", err, cerr)
			again = false
		}
		return 0, again, err
	}
	sum := hex.EncodeToString(cr.h.Sum(nil))
	if f.Size != cr.n || (f.Md5Checksum != sum && !(cr.n == 0 && f.Md5Checksum == "")) {
		// Delete with a fresh context: the bad copy must go even if ctx ended.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		derr := s.deleteID(dctx, f.Id)
		e := backup.Errorf(backup.ECORRUPT, "Google Drive stored %s as %d bytes with MD5 %s, but %d bytes with MD5 %s were sent; the upload was discarded: try again", name, f.Size, f.Md5Checksum, cr.n, sum)
		if derr != nil {
			e.Err = fmt.Errorf("delete the bad upload %s: %w", f.Id, derr)
		}
		return 0, derr == nil, e
	}
	// Remove older copies of the name; only files created before this one,
	// so that concurrent Puts of one name leave the newest. This is best
	// effort: the new file is already what Open, Stat and List see (they
	// take the newest copy), and Delete and the next Put remove leftovers.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if files, err := s.findAll(cctx, name); err == nil {
		for _, old := range files {
			if old.Id != f.Id && olderThan(old, f) {
				s.deleteID(cctx, old.Id)
			}
		}
	}
	return cr.n, false, nil
}

// upload sends what r holds as a new file with metadata meta, a chunk at a
// time, and returns the session (nil if none was opened) and the file.
func (s *Storage) upload(ctx context.Context, meta *drive.File, r io.Reader) (*resumableUpload, *drive.File, error) {
	u, err := s.startUpload(ctx, meta)
	if err != nil {
		return nil, nil, err
	}
	buf := make([]byte, s.chunkSize)
	src := &chunkReader{r: r}
	var off int64
	for {
		n, last, err := src.next(buf)
		if err != nil {
			return u, nil, fmt.Errorf("%s: read the data: %w", u.doing, err)
		}
		f, err := u.send(ctx, buf[:n], off, last)
		if err != nil {
			return u, nil, err
		}
		off += int64(n)
		if last {
			return u, f, nil
		}
	}
}

// fileMeta reads a file's metadata by ID, retrying as the policy says.
func (s *Storage) fileMeta(ctx context.Context, id, doing string) (*drive.File, error) {
	var f *drive.File
	err := s.call(ctx, doing, func() error {
		var err error
		f, err = s.svc.Files.Get(id).Fields(fileFields).SupportsAllDrives(true).Context(ctx).Do()
		return err
	})
	return f, err
}

// removeUpload deletes the files a Put tagged with uploadID, even when ctx
// has ended.
func (s *Storage) removeUpload(ctx context.Context, uploadID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	q := s.inFolder() + " and appProperties has { key=" + quote(uploadProperty) + " and value=" + quote(uploadID) + " }"
	var ids []string
	err := s.listFiles(ctx, q, "id", "look up the failed upload", func(f *drive.File) {
		ids = append(ids, f.Id)
	})
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.deleteID(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// olderThan orders files by creation time, then ID.
func olderThan(a, b *drive.File) bool {
	ta, tb := parseTime(a.CreatedTime), parseTime(b.CreatedTime)
	if !ta.Equal(tb) {
		return ta.Before(tb)
	}
	return a.Id < b.Id
}

// Open implements backup.Storage: it streams the newest file of that name.
// When the stream breaks for a passing reason (a reset connection, a body
// cut short, a 5xx), the rest is asked for again with a Range request, as
// the retry policy says: the stream may break MaxAttempts-1 times in all.
func (s *Storage) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	f, err := s.find(ctx, name)
	if err != nil {
		return nil, err
	}
	doing := "download " + name + " from Google Drive"
	var resp *http.Response
	err = s.call(ctx, doing, func() error {
		var err error
		resp, err = s.svc.Files.Get(f.Id).SupportsAllDrives(true).Context(ctx).Download()
		return err
	})
	if err != nil {
		return nil, err
	}
	return &resumingReader{s: s, ctx: ctx, id: f.Id, doing: doing, size: f.Size, body: resp.Body}, nil
}

// resumingReader reads a download, asking for the rest with a Range
// request when the stream breaks.
type resumingReader struct {
	s     *Storage
	ctx   context.Context
	id    string
	doing string
	size  int64 // as Drive listed it

	body   io.ReadCloser // nil after a break, until resumed
	off    int64         // bytes given to the caller
	breaks int           // breaks so far
	last   error         // the last break's error
	err    error         // sticky: the stream failed for good, or was closed
}

func (r *resumingReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, r.err
	}
	for {
		if r.err != nil {
			return 0, r.err
		}
		if r.body == nil {
			if err := r.resume(); err != nil {
				r.err = err
				return 0, err
			}
		}
		n, err := r.body.Read(p)
		r.off += int64(n)
		switch {
		case err == nil:
			return n, nil
		case err == io.EOF && r.off >= r.size:
			return n, io.EOF
		case err == io.EOF:
			// The body ended early without a promised length.
			err = io.ErrUnexpectedEOF
		}
		r.body.Close()
		r.body = nil
		if !retryable(r.ctx, err) {
			r.err = mapError(err, r.doing)
			if ctxErr := r.ctx.Err(); ctxErr != nil && !errors.Is(r.err, ctxErr) {
				r.err = fmt.Errorf("%w (%v)", ctxErr, r.err)
			}
			return n, nil // the error comes with the next Read
		}
		r.last = err
		if n > 0 {
			return n, nil
		}
	}
}

// resume asks for the bytes from r.off on, retrying as the policy says;
// every try counts as a break of the stream.
func (r *resumingReader) resume() error {
	for {
		if r.breaks+1 >= r.s.retry.MaxAttempts {
			err := mapError(r.last, r.doing)
			var be *backup.Error
			if !errors.As(err, &be) {
				// A broken connection, not an answer from Drive.
				err = backup.Wrap(r.last, backup.EUNAVAILABLE, "%s: the download kept breaking off at byte %d: try again later", r.doing, r.off)
			}
			return gaveUp(err, r.breaks)
		}
		r.breaks++
		if err := r.s.sleep(r.ctx, r.s.backoff(r.breaks-1)); err != nil {
			return fmt.Errorf("%s: %w (while waiting to resume after: %v)", r.doing, err, r.last)
		}
		call := r.s.svc.Files.Get(r.id).SupportsAllDrives(true).Context(r.ctx)
		call.Header().Set("Range", fmt.Sprintf("bytes=%d-", r.off))
		resp, err := call.Download()
		if err != nil {
			if !retryable(r.ctx, err) {
				return mapError(err, r.doing)
			}
			r.last = err
			continue
		}
		switch resp.StatusCode {
		case http.StatusPartialContent:
			var first int64
			if _, err := fmt.Sscanf(resp.Header.Get("Content-Range"), "bytes %d-", &first); err != nil || first != r.off {
				resp.Body.Close()
				return backup.Errorf(backup.ECORRUPT, "%s: resuming at byte %d, Google Drive answered Content-Range %q", r.doing, r.off, resp.Header.Get("Content-Range"))
			}
		case http.StatusOK:
			// The range was ignored: skip what the caller already has.
			if _, err := io.CopyN(io.Discard, resp.Body, r.off); err != nil {
				resp.Body.Close()
				if !retryable(r.ctx, err) && err != io.EOF {
					return mapError(err, r.doing)
				}
				r.last = err
				continue
			}
		default:
			resp.Body.Close()
			return fmt.Errorf("%s: resuming at byte %d, Google Drive answered %s", r.doing, r.off, resp.Status)
		}
		r.body = resp.Body
		return nil
	}
}

func (r *resumingReader) Close() error {
	if r.err == nil {
		r.err = fmt.Errorf("%s: read after close", r.doing)
	}
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}

// Stat implements backup.Storage.
func (s *Storage) Stat(ctx context.Context, name string) (backup.FileInfo, error) {
	f, err := s.find(ctx, name)
	if err != nil {
		return backup.FileInfo{}, err
	}
	return info(f), nil
}

// FileID returns the Drive file ID of the file stored under name (the
// newest, if a Put is replacing it). Returns ENOTFOUND if it is absent.
func (s *Storage) FileID(ctx context.Context, name string) (string, error) {
	f, err := s.find(ctx, name)
	if err != nil {
		return "", err
	}
	return f.Id, nil
}

// List implements backup.Storage. A name present twice (a Put replacing
// it) is listed once, as its newest file.
func (s *Storage) List(ctx context.Context, prefix string) ([]backup.FileInfo, error) {
	q := s.inFolder()
	if prefix != "" {
		q += " and name contains " + quote(prefix)
	}
	newest := make(map[string]*drive.File)
	err := s.listFiles(ctx, q, fileFields, "list Google Drive folder "+s.folderID, func(f *drive.File) {
		if !strings.HasPrefix(f.Name, prefix) {
			return
		}
		if cur, ok := newest[f.Name]; !ok || olderThan(cur, f) {
			newest[f.Name] = f
		}
	})
	if err != nil {
		return nil, err
	}
	out := make([]backup.FileInfo, 0, len(newest))
	for _, f := range newest {
		out = append(out, info(f))
	}
	slices.SortFunc(out, func(a, b backup.FileInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Delete implements backup.Storage: it deletes every file of that name in
// the folder.
func (s *Storage) Delete(ctx context.Context, name string) error {
	if err := backup.CheckFileName(name); err != nil {
		return err
	}
	files, err := s.findAll(ctx, name)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := s.deleteID(ctx, f.Id); err != nil {
			return fmt.Errorf("delete %s: %w", name, err)
		}
	}
	return nil
}

// deleteID deletes one file; an absent file is not an error.
func (s *Storage) deleteID(ctx context.Context, id string) error {
	err := s.call(ctx, "delete Google Drive file "+id, func() error {
		return s.svc.Files.Delete(id).SupportsAllDrives(true).Context(ctx).Do()
	})
	if err != nil && !errors.Is(err, backup.ErrNotFound) {
		return err
	}
	return nil
}

// find returns the newest file named name, or ENOTFOUND.
func (s *Storage) find(ctx context.Context, name string) (*drive.File, error) {
	if err := backup.CheckFileName(name); err != nil {
		return nil, err
	}
	files, err := s.findAll(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, backup.Errorf(backup.ENOTFOUND, "backup file %s is not in Google Drive folder %s", name, s.folderID)
	}
	return files[len(files)-1], nil
}

// findAll returns the files named name in the folder, oldest first.
func (s *Storage) findAll(ctx context.Context, name string) ([]*drive.File, error) {
	var files []*drive.File
	err := s.listFiles(ctx, s.inFolder()+" and name = "+quote(name), fileFields, "look up "+name+" in Google Drive", func(f *drive.File) {
		if f.Name == name {
			files = append(files, f)
		}
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(files, func(a, b *drive.File) int {
		switch {
		case olderThan(a, b):
			return -1
		case olderThan(b, a):
			return 1
		}
		return 0
	})
	return files, nil
}

// listFiles calls fn with each file matching the query q, asking for the
// file fields given, a page at a time; each page request is retried as the
// policy says. doing says what failed.
func (s *Storage) listFiles(ctx context.Context, q, fields, doing string, fn func(*drive.File)) error {
	token := ""
	for {
		var l *drive.FileList
		err := s.call(ctx, doing, func() error {
			c := s.svc.Files.List().
				Q(q).
				PageSize(int64(s.pageSize)).
				Fields(googleapi.Field("nextPageToken, files(" + fields + ")")).
				SupportsAllDrives(true).
				IncludeItemsFromAllDrives(true).
				Context(ctx)
			if token != "" {
				c.PageToken(token)
			}
			var err error
			l, err = c.Do()
			return err
		})
		if err != nil {
			return err
		}
		for _, f := range l.Files {
			fn(f)
		}
		if l.NextPageToken == "" {
			return nil
		}
		token = l.NextPageToken
	}
}

func (s *Storage) inFolder() string {
	return quote(s.folderID) + " in parents and trashed = false"
}

// quote makes a Drive query string literal.
func quote(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

func info(f *drive.File) backup.FileInfo {
	return backup.FileInfo{Name: f.Name, Size: f.Size, ModTime: parseTime(f.ModifiedTime)}
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// countingReader hashes and counts what it reads, stops when ctx ends and
// remembers the source's error.
type countingReader struct {
	ctx context.Context
	r   io.Reader
	h   hash.Hash
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// mapError turns Drive and OAuth2 errors into backup errors an operator
// can act on; doing says what failed. Context errors stay matchable with
// errors.Is.
func mapError(err error, doing string) error {
	if err == nil {
		return nil
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return backup.Wrap(err, backup.EUNAVAILABLE, "%s: Google Drive refused the sign-in (%s): re-authorise Google Drive", doing, cmp.Or(re.ErrorCode, "token refresh failed"))
	}
	var ae *auth.Error
	if errors.As(err, &ae) && ae.Response != nil {
		switch code := ae.Response.StatusCode; {
		case code == http.StatusBadRequest || code == http.StatusUnauthorized || code == http.StatusForbidden:
			return backup.Wrap(err, backup.EUNAVAILABLE, "%s: Google refused the sign-in: re-authorise Google Drive", doing)
		case ae.Temporary():
			return backup.Wrap(err, backup.EUNAVAILABLE, "%s: Google's sign-in service is unavailable: try again later", doing)
		}
	}
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return fmt.Errorf("%s: %w", doing, err)
	}
	reason := ""
	if len(ge.Errors) > 0 {
		reason = ge.Errors[0].Reason
	}
	switch {
	case ge.Code == http.StatusNotFound:
		return backup.Wrap(err, backup.ENOTFOUND, "%s: not found in Google Drive (check the folder ID and that it is shared with the account)", doing)
	case ge.Code == http.StatusUnauthorized:
		return backup.Wrap(err, backup.EUNAVAILABLE, "%s: Google Drive rejected the credentials: re-authorise Google Drive", doing)
	case reason == "storageQuotaExceeded" || reason == "teamDriveFileLimitExceeded":
		return backup.Wrap(err, backup.EUNAVAILABLE, "%s: Google Drive storage quota exceeded (service accounts have no quota: use a shared drive)", doing)
	case ge.Code == http.StatusTooManyRequests || reason == "rateLimitExceeded" || reason == "userRateLimitExceeded":
		return backup.Wrap(err, backup.EUNAVAILABLE, "%s: Google Drive rate limit exceeded: try again later", doing)
	case ge.Code == http.StatusForbidden:
		return backup.Wrap(err, backup.EUNAVAILABLE, "%s: Google Drive denied access (%s): check that the folder is shared with the account with edit rights", doing, cmp.Or(reason, "forbidden"))
	case ge.Code >= 500:
		return backup.Wrap(err, backup.EUNAVAILABLE, "%s: Google Drive is unavailable: try again later", doing)
	}
	return fmt.Errorf("%s: %w", doing, err)
}
