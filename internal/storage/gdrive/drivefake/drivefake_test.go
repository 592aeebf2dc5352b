package drivefake_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"testing"

	"golang.org/x/oauth2"
	"google.golang.org/api/drive/v3"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	"github.com/hmsbackup/hmsbackup/internal/storage/gdrive/drivefake"
)

func newClient(t *testing.T) (*drivefake.Server, *drive.Service) {
	t.Helper()
	fake := drivefake.New()
	t.Cleanup(fake.Close)
	svc, err := drive.NewService(context.Background(),
		option.WithEndpoint(fake.URL()),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: drivefake.Token})))
	if err != nil {
		t.Fatal(err)
	}
	return fake, svc
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

func upload(t *testing.T, svc *drive.Service, folder, name string, data []byte, chunk int) *drive.File {
	t.Helper()
	f, err := svc.Files.Create(&drive.File{Name: name, Parents: []string{folder}}).
		Media(bytes.NewReader(data), googleapi.ChunkSize(chunk), googleapi.ContentType("application/octet-stream")).
		Fields("id, name, size, md5Checksum, parents, createdTime").
		Do()
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return f
}

func download(t *testing.T, svc *drive.Service, id string, rng string) (int, []byte) {
	t.Helper()
	call := svc.Files.Get(id)
	if rng != "" {
		call.Header().Set("Range", rng)
	}
	resp, err := call.Download()
	if err != nil {
		t.Fatalf("download %s: %v", id, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestMultipartAndResumableUploads(t *testing.T) {
	fake, svc := newClient(t)
	folder := fake.CreateFolder("backups")
	const chunk = 256 * 1024
	for _, tc := range []struct {
		name string
		size int
	}{
		{"small-multipart", 1000},
		{"empty", 0},
		{"exact-chunk", chunk},
		{"two-and-a-bit-chunks", 2*chunk + 17},
		{"exactly-three-chunks", 3 * chunk},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := randomBytes(t, tc.size)
			f := upload(t, svc, folder, tc.name, data, chunk)
			if f.Size != int64(len(data)) || f.Md5Checksum != md5hex(data) || f.Name != tc.name {
				t.Fatalf("got size %d md5 %s name %q, want %d %s %q", f.Size, f.Md5Checksum, f.Name, len(data), md5hex(data), tc.name)
			}
			if len(f.Parents) != 1 || f.Parents[0] != folder {
				t.Errorf("parents %v, want [%s]", f.Parents, folder)
			}
			status, got := download(t, svc, f.Id, "")
			if status != http.StatusOK || !bytes.Equal(got, data) {
				t.Fatalf("download: status %d, %d bytes; want 200, %d bytes", status, len(got), len(data))
			}
		})
	}
	if n := fake.OpenUploads(); n != 0 {
		t.Errorf("%d upload sessions left open", n)
	}
}

func TestDownloadRange(t *testing.T) {
	fake, svc := newClient(t)
	data := []byte("0123456789")
	f := upload(t, svc, fake.CreateFolder("d"), "r", data, 256*1024)
	for _, tc := range []struct{ rng, want string }{
		{"bytes=2-4", "234"},
		{"bytes=7-", "789"},
		{"bytes=8-100", "89"},
	} {
		status, got := download(t, svc, f.Id, tc.rng)
		if status != http.StatusPartialContent || string(got) != tc.want {
			t.Errorf("Range %s: status %d, %q; want 206, %q", tc.rng, status, got, tc.want)
		}
	}
}

func TestGetMetadataSizeIsString(t *testing.T) {
	fake, svc := newClient(t)
	f := upload(t, svc, fake.CreateFolder("d"), "m", []byte("hello"), 256*1024)
	got, err := svc.Files.Get(f.Id).Fields("id, name, size, md5Checksum, modifiedTime").Do()
	if err != nil {
		t.Fatal(err)
	}
	if got.Size != 5 || got.Name != "m" || got.ModifiedTime == "" {
		t.Errorf("got %+v", got)
	}
	// The client decodes size from a JSON string; check the raw wire too.
	resp, err := http.DefaultClient.Do(authed(t, fake.URL()+"files/"+f.Id+"?fields=size"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if want := `{"size":"5"}`; string(bytes.TrimSpace(raw)) != want {
		t.Errorf("raw metadata %s, want %s", raw, want)
	}
}

func authed(t *testing.T, url string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+drivefake.Token)
	return req
}

func TestListQueryAndPaging(t *testing.T) {
	fake, svc := newClient(t)
	folder := fake.CreateFolder("backups")
	other := fake.CreateFolder("other")
	for i := 0; i < 23; i++ {
		upload(t, svc, folder, fmt.Sprintf("hms_backup_%02d", i), []byte{byte(i)}, 256*1024)
	}
	upload(t, svc, folder, "notes it's", []byte("x"), 256*1024)
	upload(t, svc, other, "hms_backup_elsewhere", []byte("x"), 256*1024)

	list := func(q string, pageSize int64) []string {
		var names []string
		err := svc.Files.List().Q(q).PageSize(pageSize).
			Fields("nextPageToken, files(id, name, size)").
			Pages(context.Background(), func(l *drive.FileList) error {
				for _, f := range l.Files {
					if f.Size == 0 {
						return fmt.Errorf("file %s listed without size", f.Name)
					}
					names = append(names, f.Name)
				}
				return nil
			})
		if err != nil {
			t.Fatalf("list %q: %v", q, err)
		}
		sort.Strings(names)
		return names
	}
	got := list(fmt.Sprintf("'%s' in parents and trashed = false and name contains 'hms_backup_'", folder), 5)
	if len(got) != 23 || got[0] != "hms_backup_00" || got[22] != "hms_backup_22" {
		t.Errorf("prefix list across pages: %v", got)
	}
	if got := list(fmt.Sprintf(`name = 'notes it\'s' and '%s' in parents`, folder), 10); len(got) != 1 {
		t.Errorf("name = with escaped quote: %v", got)
	}
	if got := list("name = 'hms_backup_elsewhere'", 10); len(got) != 1 {
		t.Errorf("name =: %v", got)
	}
	_, err := svc.Files.List().Q("name ~ 'x'").Do()
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != http.StatusBadRequest {
		t.Errorf("bad query: %v, want a 400", err)
	}
}

func TestDeleteAndNotFound(t *testing.T) {
	fake, svc := newClient(t)
	f := upload(t, svc, fake.CreateFolder("d"), "x", []byte("x"), 256*1024)
	if err := svc.Files.Delete(f.Id).Do(); err != nil {
		t.Fatalf("delete: %v", err)
	}
	err := svc.Files.Delete(f.Id).Do()
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != http.StatusNotFound || len(gerr.Errors) != 1 || gerr.Errors[0].Reason != "notFound" {
		t.Fatalf("second delete: %v, want 404 notFound", err)
	}
	if _, err := svc.Files.Get(f.Id).Do(); !errors.As(err, &gerr) || gerr.Code != http.StatusNotFound {
		t.Fatalf("get deleted: %v, want 404", err)
	}
}

func TestAbout(t *testing.T) {
	_, svc := newClient(t)
	a, err := svc.About.Get().Fields("user, storageQuota").Do()
	if err != nil {
		t.Fatal(err)
	}
	if a.User == nil || a.User.EmailAddress == "" || a.StorageQuota == nil || a.StorageQuota.Limit == 0 {
		t.Errorf("about: %+v", a)
	}
}

func TestWrongTokenIs401(t *testing.T) {
	fake := drivefake.New()
	defer fake.Close()
	svc, err := drive.NewService(context.Background(),
		option.WithEndpoint(fake.URL()),
		option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "wrong"})))
	if err != nil {
		t.Fatal(err)
	}
	_, err = svc.About.Get().Fields("user").Do()
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %v, want 401", err)
	}
}

func TestFailNext(t *testing.T) {
	fake, svc := newClient(t)
	folder := fake.CreateFolder("d")
	fake.FailNext(drivefake.RouteCreate, http.StatusForbidden, "storageQuotaExceeded", 1)
	_, err := svc.Files.Create(&drive.File{Name: "q", Parents: []string{folder}}).
		Media(bytes.NewReader([]byte("x")), googleapi.ChunkSize(256*1024)).Do()
	var gerr *googleapi.Error
	if !errors.As(err, &gerr) || gerr.Code != http.StatusForbidden || len(gerr.Errors) == 0 || gerr.Errors[0].Reason != "storageQuotaExceeded" {
		t.Fatalf("injected quota error: %v", err)
	}
	// The fault is used up: the next create works.
	upload(t, svc, folder, "q", []byte("x"), 256*1024)

	// A 500 on a chunk is retried by the client's resumable uploader.
	fake.FailNext(drivefake.RouteUpload, http.StatusInternalServerError, "backendError", 1)
	data := randomBytes(t, 256*1024+5)
	f := upload(t, svc, folder, "retried", data, 256*1024)
	if f.Md5Checksum != md5hex(data) {
		t.Errorf("after a retried chunk md5 %s, want %s", f.Md5Checksum, md5hex(data))
	}

	fake.FailNext(drivefake.RouteList, http.StatusTooManyRequests, "rateLimitExceeded", 2)
	for i := 0; i < 2; i++ {
		if _, err := svc.Files.List().Do(); !errors.As(err, &gerr) || gerr.Code != http.StatusTooManyRequests {
			t.Fatalf("list #%d: %v, want 429", i+1, err)
		}
	}
	if _, err := svc.Files.List().Do(); err != nil {
		t.Fatalf("list after faults: %v", err)
	}
}

func TestResumableStatusQuery(t *testing.T) {
	fake, _ := newClient(t)
	do := func(method, url, contentRange string, body []byte) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+drivefake.Token)
		if contentRange != "" {
			req.Header.Set("Content-Range", contentRange)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	base := fake.URL()[:len(fake.URL())-len("/drive/v3/")]
	init := do(http.MethodPost, base+"/upload/drive/v3/files?uploadType=resumable", "", []byte(`{"name":"s"}`))
	loc := init.Header.Get("Location")
	if init.StatusCode != http.StatusOK || loc == "" {
		t.Fatalf("initiate: %d, Location %q", init.StatusCode, loc)
	}
	resp := do(http.MethodPut, loc, "bytes 0-3/*", []byte("abcd"))
	if resp.StatusCode != 200 || resp.Header.Get("X-Http-Status-Code-Override") != "308" || resp.Header.Get("Range") != "bytes=0-3" {
		t.Fatalf("chunk: %d %v", resp.StatusCode, resp.Header)
	}
	resp = do(http.MethodPut, loc, "bytes */10", nil)
	if resp.Header.Get("X-Http-Status-Code-Override") != "308" || resp.Header.Get("Range") != "bytes=0-3" {
		t.Fatalf("status query: %d %v", resp.StatusCode, resp.Header)
	}
	resp = do(http.MethodPut, loc, "bytes 4-9/10", []byte("efghij"))
	if resp.StatusCode != 200 || resp.Header.Get("X-Http-Status-Code-Override") != "" {
		t.Fatalf("last chunk: %d %v", resp.StatusCode, resp.Header)
	}
	files := fake.Files()
	if got := string(files[len(files)-1].Content); got != "abcdefghij" {
		t.Errorf("content %q", got)
	}

	// A lost response to the last chunk: the file exists all the same.
	init = do(http.MethodPost, base+"/upload/drive/v3/files?uploadType=resumable", "", []byte(`{"name":"lost","appProperties":{"k":"v"}}`))
	fake.LoseNextResponses(drivefake.RouteUpload, http.StatusServiceUnavailable, "backendError", 1)
	if resp := do(http.MethodPut, init.Header.Get("Location"), "bytes 0-2/3", []byte("abc")); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("lost last chunk answered %d, want 503", resp.StatusCode)
	}
	files = fake.Files()
	if f := files[len(files)-1]; f.Name != "lost" || string(f.Content) != "abc" || f.AppProperties["k"] != "v" {
		t.Errorf("after a lost response: %+v", f)
	}
}

func TestAppPropertiesQuery(t *testing.T) {
	fake, svc := newClient(t)
	folder := fake.CreateFolder("d")
	for _, v := range []string{"one", "two"} {
		_, err := svc.Files.Create(&drive.File{Name: v, Parents: []string{folder}, AppProperties: map[string]string{"tag": v}}).
			Media(bytes.NewReader([]byte(v))).Do()
		if err != nil {
			t.Fatal(err)
		}
	}
	l, err := svc.Files.List().Q(fmt.Sprintf("'%s' in parents and appProperties has { key='tag' and value='two' }", folder)).Do()
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Files) != 1 || l.Files[0].Name != "two" {
		t.Errorf("appProperties has: %+v", l.Files)
	}
}
