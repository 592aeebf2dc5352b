package web

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/identity"
	"github.com/hmsbackup/hmsbackup/internal/queue"
)

// Audit actions of looking (8.4: every look at patient-data backups is
// recorded).
const (
	ActionList backup.Action = "list" // the backup list
	ActionView backup.Action = "view" // one backup's details
)

// What each route needs.
var (
	canView    = route{perm: identity.PermView, action: ActionView}
	canList    = route{perm: identity.PermView, action: ActionList}
	canCreate  = route{perm: identity.PermCreate, action: backup.ActionCreate}
	canDelete  = route{perm: identity.PermDelete, action: backup.ActionDelete}
	canRestore = route{perm: identity.PermRestore, action: backup.ActionRestore}
	// Download hands out every patient record of the backup: it needs the
	// restore permission, not view alone (8.2).
	canDownload = route{perm: identity.PermRestore, action: backup.ActionDownload}
	// Protecting keeps a backup from retention: a delete-level decision.
	canProtect = route{perm: identity.PermDelete, action: "protect"}
)

func (s *Server) pageRoutes(mux *http.ServeMux) {
	mux.Handle("GET /{$}", http.RedirectHandler("/backups", http.StatusSeeOther))
	mux.Handle("GET /sign-in", s.sessions.LoadAndSave(http.HandlerFunc(s.signInPage)))
	mux.Handle("POST /sign-in", s.sessions.LoadAndSave(http.HandlerFunc(s.signIn)))
	mux.Handle("POST /sign-out", s.sessions.LoadAndSave(http.HandlerFunc(s.signOut)))

	mux.Handle("GET /backups", s.page(canList, s.backupsPage))
	mux.Handle("POST /backups", s.page(canCreate, s.createBackup))
	mux.Handle("GET /backups/{id}", s.page(canView, s.backupPage))
	mux.Handle("GET /backups/{id}/download", s.page(canDownload, s.download))
	mux.Handle("GET /backups/{id}/delete", s.page(canDelete, s.confirmDeletePage))
	mux.Handle("POST /backups/{id}/delete", s.page(canDelete, s.deleteBackup))
	mux.Handle("POST /backups/{id}/protect", s.page(canProtect, s.protect(true)))
	mux.Handle("POST /backups/{id}/unprotect", s.page(canUnprotect, s.protect(false)))
	mux.Handle("GET /backups/{id}/restore", s.page(canRestore, s.restorePage))
	mux.Handle("POST /backups/{id}/restore", s.page(canRestore, s.restore))
	mux.Handle("GET /jobs/{id}", s.page(route{perm: identity.PermView, action: "job.view"}, s.jobPage))
	mux.Handle("GET /jobs/{id}/progress", s.page(route{perm: identity.PermView, action: "job.view"}, s.jobProgress))
	s.userRoutes(mux)
}

// signInPage shows the form; a signed-in user goes to the backups.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	if p, _ := s.sessionPrincipal(r); p != nil {
		http.Redirect(w, r, "/backups", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "signin", "Sign in", signInForm{Next: safeNext(r.URL.Query().Get("next"))})
}

type signInForm struct {
	Name, Next, Error string
}

// safeNext keeps a redirect after sign-in on this site: a path, never
// another host.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.IsAbs() || u.Host != "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/backups"
	}
	return next
}

// signInMessage is the one message for every failed sign-in: unknown
// user, wrong password, disabled user.
const signInMessage = "Wrong user name or password."

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	password := r.PostFormValue("password")
	form := signInForm{Name: name, Next: safeNext(r.PostFormValue("next"))}
	from := identity.Actor{SourceAddress: s.clientAddr(r), UserAgent: agent(r)}
	keys := []string{"user:" + strings.ToLower(name), "addr:" + from.SourceAddress}
	if wait := s.limiter.wait(keys...); wait > 0 {
		s.limiter.fail(keys...)
		who := "(invalid user name)"
		if identity.CheckUserName(name) == nil {
			who = name
		}
		s.auditRefusedSignIn(r, who, from, wait)
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+1)))
		s.renderSignIn(w, r, http.StatusTooManyRequests, form,
			fmt.Sprintf("Too many failed sign-ins: wait %s, then try again.", wait.Round(time.Second)+time.Second))
		return
	}
	u, err := s.cfg.Identity.SignIn(r.Context(), from, name, password)
	if err != nil {
		if backup.ErrorCode(err) != backup.EUNAUTHORIZED {
			s.errorPage(w, r, nil, err)
			return
		}
		s.limiter.fail(keys...)
		s.renderSignIn(w, r, http.StatusUnauthorized, form, signInMessage)
		return
	}
	s.limiter.succeed(keys...)
	// A new session id at sign-in: one planted before it is worthless.
	if err := s.sessions.RenewToken(r.Context()); err != nil {
		s.errorPage(w, r, nil, err)
		return
	}
	s.sessions.Put(r.Context(), sessionUserKey, u.ID)
	s.sessions.Put(r.Context(), sessionSinceKey, time.Now().UnixNano())
	http.Redirect(w, r, form.Next, http.StatusSeeOther)
}

func (s *Server) renderSignIn(w http.ResponseWriter, r *http.Request, code int, form signInForm, msg string) {
	form.Error = msg
	s.render(w, r, code, "signin", "Sign in", form)
}

// auditRefusedSignIn records an attempt refused by the rate limit.
func (s *Server) auditRefusedSignIn(r *http.Request, who string, from identity.Actor, wait time.Duration) {
	e := &backup.AuditEntry{Actor: who, Action: backup.ActionSignIn, Outcome: "failure",
		Details:       fmt.Sprintf("sign in refused: too many failed attempts, wait %s", wait.Round(time.Second)),
		SourceAddress: from.SourceAddress, UserAgent: from.UserAgent}
	if err := s.cfg.Catalog.AddAuditEntry(r.Context(), e); err != nil {
		s.log.Error("cannot write audit entry", "action", backup.ActionSignIn, "err", err)
	}
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	if p, _ := s.sessionPrincipal(r); p != nil {
		s.audit(r, p, "sign-out", nil, nil, "sign out")
	}
	if err := s.sessions.Destroy(r.Context()); err != nil {
		s.errorPage(w, r, nil, err)
		return
	}
	http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
}

// pageSize is how many backups a list page shows.
const pageSize = 50

type backupsData struct {
	Backups    []*backup.Backup
	Total      int
	Page, Last int
	Jobs       []JobView // jobs queued or running now
	Database   string
}

func (s *Server) backupsPage(w http.ResponseWriter, r *http.Request, p *principal) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	list, total, err := s.cfg.Catalog.FindBackups(r.Context(), backup.BackupFilter{Offset: (page - 1) * pageSize, Limit: pageSize})
	s.audit(r, p, ActionList, nil, err, fmt.Sprintf("list backups, page %d", page))
	if err != nil {
		s.errorPage(w, r, p, err)
		return
	}
	d := backupsData{Backups: list, Total: total, Page: page, Last: max(1, (total+pageSize-1)/pageSize),
		Jobs: s.activeJobs(r), Database: s.cfg.Engine.Dumper.Info().Database}
	s.render(w, r, http.StatusOK, "backups", "Backups", d)
}

func (s *Server) createBackup(w http.ResponseWriter, r *http.Request, p *principal) {
	// One at a time: while a backup or restore is queued or running, a
	// second is not queued behind it (it would wait for, or fail on, the
	// database's lock); the page says so.
	if err := s.busy(r.Context()); err != nil {
		s.audit(r, p, backup.ActionCreate, nil, err, "backup not queued")
		if backup.ErrorCode(err) != backup.EBUSY {
			s.errorPage(w, r, p, err)
			return
		}
		s.flash(r, "Not queued: %s.", userMessage(err))
		http.Redirect(w, r, "/backups", http.StatusSeeOther)
		return
	}
	a := p.Actor()
	id, _, err := s.cfg.Jobs.EnqueueBackup(r.Context(), queue.BackupArgs{Source: backup.SourceManualUI, Actor: a.Name,
		UserID: a.UserID, SourceAddress: a.SourceAddress, UserAgent: a.UserAgent})
	if err != nil {
		// The engine audits the backup when it runs; a job that could not
		// be queued is audited here.
		s.audit(r, p, backup.ActionCreate, nil, err, "queue a backup")
		s.errorPage(w, r, p, err)
		return
	}
	s.trackQueued(id)
	http.Redirect(w, r, "/jobs/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

type backupData struct {
	B       *backup.Backup
	History []*backup.AuditEntry
}

func (s *Server) backupPage(w http.ResponseWriter, r *http.Request, p *principal) {
	b, ok := s.findBackup(w, r, p, ActionView)
	if !ok {
		return
	}
	hist, _, err := s.cfg.Catalog.FindAuditEntries(r.Context(), backup.AuditFilter{BackupID: &b.ID, Limit: 200})
	s.audit(r, p, ActionView, &b.ID, err, "view "+b.Filename)
	if err != nil {
		s.errorPage(w, r, p, err)
		return
	}
	s.render(w, r, http.StatusOK, "backup", "Backup "+strconv.FormatInt(b.ID, 10), backupData{B: b, History: hist})
}

// findBackup reads the {id} backup; a bad id or a missing backup is shown
// (404/422) and audited as a failed action.
func (s *Server) findBackup(w http.ResponseWriter, r *http.Request, p *principal, action backup.Action) (*backup.Backup, bool) {
	id, err := pathID(r)
	if err != nil {
		s.audit(r, p, action, nil, err, "bad id")
		s.errorPage(w, r, p, backup.Errorf(backup.ENOTFOUND, "no such backup: %v", err))
		return nil, false
	}
	b, err := s.cfg.Catalog.FindBackupByID(r.Context(), id)
	if err != nil {
		s.audit(r, p, action, &id, err, fmt.Sprintf("backup %d", id))
		s.errorPage(w, r, p, err)
		return nil, false
	}
	return b, true
}

// download streams the stored bytes (the engine audits it), with Range
// support for a local file.
func (s *Server) download(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := pathID(r)
	if err != nil {
		s.audit(r, p, backup.ActionDownload, nil, err, "bad id")
		s.errorPage(w, r, p, backup.Errorf(backup.ENOTFOUND, "no such backup: %v", err))
		return
	}
	s.serveDownload(w, r, p, id, func(err error) { s.errorPage(w, r, p, err) })
}

// serveDownload streams backup id to w. Memory stays flat: the file is
// copied in small buffers (or sent by the kernel).
func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request, p *principal, id int64, fail func(error)) {
	rc, b, err := s.cfg.Engine.Download(r.Context(), id, p.Actor())
	if err != nil {
		if b == nil { // the engine audits the backups it finds; this one it did not
			s.audit(r, p, backup.ActionDownload, &id, err, fmt.Sprintf("download backup %d", id))
		}
		fail(err)
		return
	}
	defer rc.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename=%q`, b.Filename))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Checksum-SHA256", b.SHA256)
	if rs, ok := rc.(io.ReadSeeker); ok {
		modified := b.CreatedAt
		if b.CompletedAt != nil {
			modified = *b.CompletedAt
		}
		http.ServeContent(w, r, b.Filename, modified, rs)
		return
	}
	h.Set("Content-Length", strconv.FormatInt(b.FileSize, 10))
	if _, err := io.Copy(w, rc); err != nil {
		s.log.Warn("download cut short", "backup", b.ID, "err", err)
	}
}

func (s *Server) confirmDeletePage(w http.ResponseWriter, r *http.Request, p *principal) {
	b, ok := s.findBackup(w, r, p, backup.ActionDelete)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "delete", "Delete backup", b)
}

func (s *Server) deleteBackup(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := pathID(r)
	if err != nil {
		s.audit(r, p, backup.ActionDelete, nil, err, "bad id")
		s.errorPage(w, r, p, backup.Errorf(backup.ENOTFOUND, "no such backup: %v", err))
		return
	}
	b, err := s.cfg.Engine.Delete(r.Context(), id, p.Actor())
	if err != nil {
		s.errorPage(w, r, p, err)
		return
	}
	s.flash(r, "Deleted backup %d (%s).", b.ID, b.Filename)
	http.Redirect(w, r, "/backups", http.StatusSeeOther)
}

func (s *Server) protect(on bool) func(http.ResponseWriter, *http.Request, *principal) {
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		id, err := pathID(r)
		if err != nil {
			s.audit(r, p, protectAction(on), nil, err, "bad id")
			s.errorPage(w, r, p, backup.Errorf(backup.ENOTFOUND, "no such backup: %v", err))
			return
		}
		b, err := s.setProtected(r, p, id, on)
		if err != nil {
			s.errorPage(w, r, p, err)
			return
		}
		if on {
			s.flash(r, "Backup %d is protected: retention will never delete it.", b.ID)
		} else {
			s.flash(r, "Backup %d is no longer protected.", b.ID)
		}
		http.Redirect(w, r, "/backups/"+strconv.FormatInt(b.ID, 10), http.StatusSeeOther)
	}
}

type restoreData struct {
	B           *backup.Backup
	Database    string
	ForeignKeys []backup.ForeignKey
	Error       string
}

func (s *Server) restorePage(w http.ResponseWriter, r *http.Request, p *principal) {
	b, ok := s.findBackup(w, r, p, backup.ActionRestore)
	if !ok {
		return
	}
	s.render(w, r, http.StatusOK, "restore", "Restore backup", s.restoreData(r, b, ""))
}

func (s *Server) restoreData(r *http.Request, b *backup.Backup, msg string) restoreData {
	d := restoreData{B: b, Database: s.cfg.Engine.Dumper.Info().Database, Error: msg}
	if fks, err := s.cfg.Engine.InboundForeignKeys(r.Context()); err == nil {
		d.ForeignKeys = fks
	}
	return d
}

// restore checks the typed database name and queues the restore; the job
// page then shows its progress and outcome.
func (s *Server) restore(w http.ResponseWriter, r *http.Request, p *principal) {
	b, ok := s.findBackup(w, r, p, backup.ActionRestore)
	if !ok {
		return
	}
	id, err := s.queueRestore(r, p, b, r.PostFormValue("confirm"))
	if err != nil {
		if backup.ErrorCode(err) == backup.EINVALID {
			s.render(w, r, http.StatusUnprocessableEntity, "restore", "Restore backup", s.restoreData(r, b, userMessage(err)))
			return
		}
		s.errorPage(w, r, p, err)
		return
	}
	http.Redirect(w, r, "/jobs/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// queueRestore queues the restore of b once confirm names the database
// (4.2). A refusal before the queue is audited here; the engine audits
// the restore itself.
func (s *Server) queueRestore(r *http.Request, p *principal, b *backup.Backup, confirm string) (int64, error) {
	target := s.cfg.Engine.Dumper.Info().Database
	var err error
	switch {
	case strings.TrimSpace(confirm) != target:
		err = backup.Errorf(backup.EINVALID, "Type the database name, %s, exactly, to confirm the restore.", target)
	case b.Status != backup.StatusCompleted:
		err = backup.Errorf(backup.EINVALID, "Backup %d is %s; only a completed backup can be restored.", b.ID, b.Status)
	default:
		err = s.cfg.Engine.CheckTarget(b, "")
	}
	if err != nil {
		s.audit(r, p, backup.ActionRestore, &b.ID, err, "restore not started")
		return 0, err
	}
	a := p.Actor()
	id, err := s.cfg.Jobs.EnqueueRestore(r.Context(), queue.RestoreArgs{BackupID: b.ID, Actor: a.Name, UserID: a.UserID,
		SourceAddress: a.SourceAddress, UserAgent: a.UserAgent})
	if err != nil {
		s.audit(r, p, backup.ActionRestore, &b.ID, err, "queue the restore")
		return 0, err
	}
	s.trackQueued(id)
	return id, nil
}

func (s *Server) jobPage(w http.ResponseWriter, r *http.Request, p *principal) {
	j, err := s.jobView(r)
	if err != nil {
		s.errorPage(w, r, p, err)
		return
	}
	s.render(w, r, http.StatusOK, "job", "Job "+strconv.FormatInt(j.ID, 10), j)
}

func (s *Server) jobProgress(w http.ResponseWriter, r *http.Request, p *principal) {
	j, err := s.jobView(r)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

func (s *Server) jobView(r *http.Request) (JobView, error) {
	id, err := pathID(r)
	if err != nil {
		return JobView{}, backup.Errorf(backup.ENOTFOUND, "no such job: %v", err)
	}
	st, err := s.cfg.Jobs.Job(r.Context(), id)
	if err != nil {
		return JobView{}, err
	}
	if st.Kind != (queue.BackupArgs{}).Kind() && st.Kind != (queue.RestoreArgs{}).Kind() {
		return JobView{}, backup.Errorf(backup.ENOTFOUND, "job %d not found", id)
	}
	return s.viewOf(st), nil
}
