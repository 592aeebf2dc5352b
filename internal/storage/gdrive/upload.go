package gdrive

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"

	"github.com/hmsbackup/hmsbackup/internal/backup"
)

// uploadQuantum is the unit Drive wants every chunk but the last to be a
// multiple of.
const uploadQuantum = 256 << 10

// errSessionLost says Drive no longer holds bytes of a resumable upload it
// had confirmed (the session expired or was reset): the upload has to be
// made again from the start.
var errSessionLost = errors.New("Google Drive lost the upload session")

// resumableUpload is one resumable upload session: Drive's protocol
// (https://developers.google.com/workspace/drive/api/guides/manage-uploads#resumable)
// spoken directly, so that every request of it is retried as the policy
// says and a failed chunk is sent again from what Drive confirms it holds,
// never from the start of the file. It holds one chunk in memory.
type resumableUpload struct {
	s     *Storage
	name  string
	uri   string // the session URI
	doing string
}

// startUpload opens a resumable upload session for a file with metadata
// meta. A lost response leaves at most an empty session on Drive, which
// expires; it never makes a file.
func (s *Storage) startUpload(ctx context.Context, meta *drive.File) (*resumableUpload, error) {
	body, err := json.Marshal(meta)
	if err != nil {
		return nil, fmt.Errorf("encode the upload's metadata: %w", err)
	}
	q := url.Values{
		"uploadType":        {"resumable"},
		"supportsAllDrives": {"true"},
		"fields":            {fileFields},
		"alt":               {"json"},
	}
	u := &resumableUpload{s: s, name: meta.Name, doing: "upload " + meta.Name + " to Google Drive"}
	err = s.call(ctx, "start the upload of "+meta.Name+" to Google Drive", func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.uploadURL+"?"+q.Encode(), bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json; charset=UTF-8")
		req.Header.Set("X-Upload-Content-Type", "application/octet-stream")
		resp, err := s.http.Do(req)
		if err != nil {
			return err
		}
		defer drain(resp)
		if err := googleapi.CheckResponse(resp); err != nil {
			return err
		}
		loc := resp.Header.Get("Location")
		if loc == "" {
			return fmt.Errorf("Google Drive answered %s without a session URI", resp.Status)
		}
		u.uri = loc
		return nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// chunkReply is what Drive answered to a chunk or a status query: the
// finished file, or how many bytes of the upload it holds.
type chunkReply struct {
	file     *drive.File
	received int64
}

// send delivers chunk, the bytes of the upload from offset off, and
// returns the finished file if final (total off+len(chunk)), else nil once
// Drive holds all of chunk. A request that fails for a passing reason is
// retried after a backoff; before sending again, Drive is asked how much
// of the upload it holds (its answer may have been lost on the way), so
// only what is missing is sent again, and an upload that did complete is
// recognised. Each chunk gets the policy's MaxAttempts tries.
func (u *resumableUpload) send(ctx context.Context, chunk []byte, off int64, final bool) (*drive.File, error) {
	total := int64(-1)
	if final {
		total = off + int64(len(chunk))
	}
	sent, failures, query := 0, 0, false
	for {
		var rep chunkReply
		var err error
		if query {
			rep, err = u.request(ctx, nil, -1, -1)
		} else {
			rep, err = u.request(ctx, chunk[sent:], off+int64(sent), total)
		}
		if err == nil {
			if rep.file != nil {
				if !final {
					return nil, fmt.Errorf("%s: Google Drive finished the upload at byte %d, before its end", u.doing, rep.received)
				}
				return rep.file, nil
			}
			if rep.received < off+int64(sent) {
				// Drive dropped bytes it had confirmed.
				return nil, fmt.Errorf("%s: %w (it holds %d bytes, %d were confirmed)", u.doing, errSessionLost, rep.received, off+int64(sent))
			}
			if rep.received > off+int64(len(chunk)) {
				return nil, backup.Errorf(backup.ECORRUPT, "%s: Google Drive claims %d bytes, only %d were sent", u.doing, rep.received, off+int64(len(chunk)))
			}
			wasQuery, progress := query, int(rep.received-off) > sent
			sent, query = int(rep.received-off), false
			if sent == len(chunk) && !final {
				return nil, nil
			}
			if progress || wasQuery {
				continue // send the rest (of the last chunk: perhaps nothing, to finish)
			}
			// An answer that takes nothing counts as a failed try, so a
			// Drive that keeps doing so cannot hold the upload forever.
			err = fmt.Errorf("Google Drive took none of the %d bytes sent from offset %d", len(chunk)-sent, off+int64(sent))
		} else if !retryable(ctx, err) {
			var ge *googleapi.Error
			if errors.As(err, &ge) && (ge.Code == http.StatusNotFound || ge.Code == http.StatusGone) {
				return nil, fmt.Errorf("%s: %w (%v)", u.doing, errSessionLost, err)
			}
			return nil, mapError(err, u.doing)
		}
		failures++
		if failures >= u.s.retry.MaxAttempts {
			return nil, gaveUp(mapError(err, u.doing), failures-1)
		}
		if serr := u.s.sleep(ctx, u.s.backoff(failures-1)); serr != nil {
			return nil, fmt.Errorf("%s: %w (while waiting to retry after: %v)", u.doing, serr, err)
		}
		query = true
	}
}

// request makes one request to the session: data from offset off (total
// the upload's size, or -1 if not yet known), or a status query if data is
// nil and off is -1.
func (u *resumableUpload) request(ctx context.Context, data []byte, off, total int64) (chunkReply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.uri, bytes.NewReader(data))
	if err != nil {
		return chunkReply{}, err
	}
	req.ContentLength = int64(len(data))
	tot := "*"
	if total >= 0 {
		tot = strconv.FormatInt(total, 10)
	}
	if len(data) == 0 {
		req.Header.Set("Content-Range", "bytes */"+tot) // a status query, or the end of the upload
	} else {
		req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%s", off, off+int64(len(data))-1, tot))
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	// Answer "308 Resume Incomplete" as 200 with this header instead.
	req.Header.Set("X-GUploader-No-308", "yes")
	resp, err := u.s.http.Do(req)
	if err != nil {
		return chunkReply{}, err
	}
	defer drain(resp)
	if resp.StatusCode == http.StatusPermanentRedirect || resp.Header.Get("X-Http-Status-Code-Override") == "308" {
		return chunkReply{received: receivedBytes(resp.Header.Get("Range"))}, nil
	}
	if err := googleapi.CheckResponse(resp); err != nil {
		return chunkReply{}, err
	}
	var f drive.File
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		return chunkReply{}, fmt.Errorf("read Google Drive's answer to the end of the upload: %w", err)
	}
	if f.Id == "" {
		return chunkReply{}, fmt.Errorf("Google Drive finished the upload but named no file")
	}
	return chunkReply{file: &f, received: f.Size}, nil
}

// receivedBytes parses a Range header "bytes=0-N" into N+1; no header means
// Drive holds nothing yet.
func receivedBytes(h string) int64 {
	_, last, ok := strings.Cut(h, "-")
	if !ok {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(last), 10, 64)
	if err != nil {
		return 0
	}
	return n + 1
}

// cancel ends the session so Drive drops what it holds, best effort: an
// unfinished session expires on its own after a week.
func (u *resumableUpload) cancel(ctx context.Context) {
	ctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, u.uri, nil)
	if err != nil {
		return
	}
	if resp, err := u.s.http.Do(req); err == nil {
		drain(resp)
	}
}

// drain reads a little of what is left of a response body, so the
// connection can be reused, and closes it.
func drain(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

// chunkReader reads an upload's source a chunk at a time, reading one byte
// ahead so that it knows which chunk is the last.
type chunkReader struct {
	r    io.Reader
	peek []byte // the byte read ahead, if any
	eof  bool
}

// next fills buf as far as it can and reports whether that is the end of
// the source; err is the source's error, never io.EOF.
func (c *chunkReader) next(buf []byte) (n int, last bool, err error) {
	n = copy(buf, c.peek)
	c.peek = c.peek[:0]
	if !c.eof {
		var k int
		k, err = io.ReadFull(c.r, buf[n:])
		n += k
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			c.eof, err = true, nil
		case err != nil:
			return n, false, err
		}
	}
	if c.eof {
		return n, true, nil
	}
	var one [1]byte
	k, err := io.ReadFull(c.r, one[:])
	switch {
	case k == 1:
		c.peek = append(c.peek, one[0])
		return n, false, nil
	case err == io.EOF:
		c.eof = true
		return n, true, nil
	}
	return n, false, err
}
