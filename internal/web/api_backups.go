package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/queue"
)

// apiFail writes err as the API's error; an internal error's details go
// to the log only (userMessage keeps them from the client).
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	if httpStatus(err) == http.StatusInternalServerError {
		s.log.Error("API request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, err)
}

// apiFindBackup reads the {id} backup; a bad id (404: there is no such
// backup) or a missing backup is answered and audited as a failed action.
func (s *Server) apiFindBackup(w http.ResponseWriter, r *http.Request, p *principal, action backup.Action) (*backup.Backup, bool) {
	id, err := pathID(r)
	if err != nil {
		s.audit(r, p, action, nil, err, "bad id")
		writeError(w, backup.Errorf(backup.ENOTFOUND, "no such backup: %v", err))
		return nil, false
	}
	b, err := s.cfg.Catalog.FindBackupByID(r.Context(), id)
	if err != nil {
		s.audit(r, p, action, &id, err, fmt.Sprintf("backup %d", id))
		s.apiFail(w, r, err)
		return nil, false
	}
	return b, true
}

// apiPathID is the {id} of an API request, or a 404 answered and audited.
func (s *Server) apiPathID(w http.ResponseWriter, r *http.Request, p *principal, action backup.Action) (int64, bool) {
	id, err := pathID(r)
	if err != nil {
		s.audit(r, p, action, nil, err, "bad id")
		writeError(w, backup.Errorf(backup.ENOTFOUND, "no such backup: %v", err))
		return 0, false
	}
	return id, true
}

// activeLister is the queue's list of the jobs queued or running.
type activeLister interface {
	Active(ctx context.Context) ([]queue.JobState, error)
}

// busy returns an EBUSY error when a backup or restore of the database is
// already queued or running, so POST /api/v1/backups and .../restore
// answer 409 instead of queuing a job that would wait for the lock. It
// looks at three things, each of them true only while such work is
// under way:
//   - the queue: a backup or restore job queued, running or waiting for a
//     retry (the scheduler's, the UI's, the API's, `create --queue`);
//   - the catalog: a backup record still pending, that is being written
//     (also a CLI `hmsbackup create`, or a restore's pre-restore backup);
//   - the engine's restore marker, held while a restore runs (a CLI
//     `hmsbackup restore` too).
//
// It does not take the database's lock to look: that would make a job
// starting at the same instant fail. Two requests at the same instant may
// both pass; the second job then waits for the lock like any other.
func (s *Server) busy(ctx context.Context) error {
	if lister, ok := s.cfg.Jobs.(activeLister); ok {
		jobs, err := lister.Active(ctx)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			kind := "backup"
			if j.Kind == (queue.RestoreArgs{}).Kind() {
				kind = "restore"
			}
			return backup.Errorf(backup.EBUSY, "a %s of the database is already %s (job %d, GET /api/v1/jobs/%d): wait for it to finish",
				kind, s.viewOf(j).State, j.ID, j.ID)
		}
	}
	pending := backup.StatusPending
	list, _, err := s.cfg.Catalog.FindBackups(ctx, backup.BackupFilter{Status: &pending, Limit: 1})
	if err != nil {
		return fmt.Errorf("look for a backup being written: %w", err)
	}
	if len(list) > 0 {
		return backup.Errorf(backup.EBUSY, "backup %d of the database is being written (by %s): wait for it to finish", list[0].ID, list[0].CreatedBy)
	}
	if m, err := s.cfg.Engine.InterruptedRestore(); err == nil && m != nil && m.Running {
		return backup.Errorf(backup.EBUSY, "a restore of backup %d into %s is running: wait for it to finish", m.BackupID, m.Database)
	}
	return nil
}

// queuedJob answers 202 Accepted with job id's view and its Location.
func (s *Server) queuedJob(w http.ResponseWriter, r *http.Request, id int64, kind string) {
	v := JobView{ID: id, Kind: kind, State: "queued", Errors: []string{}}
	if st, err := s.cfg.Jobs.Job(r.Context(), id); err == nil {
		v = s.viewOf(st)
	}
	w.Header().Set("Location", "/api/v1/jobs/"+strconv.FormatInt(id, 10))
	writeJSON(w, http.StatusAccepted, v)
}

// apiCreateBackup queues a backup (like the UI's "Create backup"): 202
// with the job; 409 while a backup or restore is queued or running. The
// engine audits the backup when it runs; a refusal is audited here.
func (s *Server) apiCreateBackup(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := s.busy(r.Context()); err != nil {
		s.audit(r, p, backup.ActionCreate, nil, err, "backup not queued")
		s.apiFail(w, r, err)
		return
	}
	a := p.Actor()
	id, _, err := s.cfg.Jobs.EnqueueBackup(r.Context(), queue.BackupArgs{Source: backup.SourceManualUI, Actor: a.Name,
		UserID: a.UserID, SourceAddress: a.SourceAddress, UserAgent: a.UserAgent})
	if err != nil {
		s.audit(r, p, backup.ActionCreate, nil, err, "queue a backup")
		s.apiFail(w, r, err)
		return
	}
	s.trackQueued(id)
	s.queuedJob(w, r, id, "backup")
}

// apiDeleteBackup deletes a backup (the engine audits it): 200 with the
// deleted record; 409 for a protected backup, one being written, or while
// a backup or restore holds the database.
func (s *Server) apiDeleteBackup(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := s.apiPathID(w, r, p, backup.ActionDelete)
	if !ok {
		return
	}
	b, err := s.cfg.Engine.Delete(r.Context(), id, p.Actor())
	if err != nil {
		if b != nil && b.IsProtected {
			err = asConflict(err)
		}
		s.apiFail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// apiDownload streams the backup's stored bytes, with Range support (the
// engine audits the download, once).
func (s *Server) apiDownload(w http.ResponseWriter, r *http.Request, p *principal) {
	id, ok := s.apiPathID(w, r, p, backup.ActionDownload)
	if !ok {
		return
	}
	s.serveDownload(w, r, p, id, func(err error) {
		if backup.ErrorCode(err) == backup.EINVALID { // not completed: the backup's state, not the request, is wrong
			err = asConflict(err)
		}
		s.apiFail(w, r, err)
	})
}

// restoreRequest is the body of POST /api/v1/backups/{id}/restore.
type restoreRequest struct {
	// Confirm must be the configured database's name (4.2).
	Confirm string `json:"confirm"`
}

// apiRestore queues the restore of a completed backup once the body's
// confirm names the database: 202 with the job; 422 (field confirm) for a
// wrong name; 409 for a backup that is not completed or while a backup or
// restore is queued or running.
func (s *Server) apiRestore(w http.ResponseWriter, r *http.Request, p *principal) {
	b, ok := s.apiFindBackup(w, r, p, backup.ActionRestore)
	if !ok {
		return
	}
	var req restoreRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		err = backup.Errorf(backup.EINVALID, `the body must be JSON: {"confirm": "<database name>"}`)
		s.audit(r, p, backup.ActionRestore, &b.ID, err, "restore not started")
		writeError(w, &fieldError{Field: "confirm", Err: err})
		return
	}
	target := s.cfg.Engine.Dumper.Info().Database
	confirmed := strings.TrimSpace(req.Confirm) == target
	if confirmed && b.Status == backup.StatusCompleted {
		if err := s.busy(r.Context()); err != nil {
			s.audit(r, p, backup.ActionRestore, &b.ID, err, "restore not started")
			s.apiFail(w, r, err)
			return
		}
	}
	id, err := s.queueRestore(r, p, b, req.Confirm)
	switch {
	case err == nil:
		s.queuedJob(w, r, id, "restore")
	case !confirmed:
		writeError(w, &fieldError{Field: "confirm", Err: err})
	case backup.ErrorCode(err) == backup.EINVALID && b.Status != backup.StatusCompleted:
		s.apiFail(w, r, asConflict(err))
	default:
		s.apiFail(w, r, err)
	}
}

// setProtected protects (or unprotects) backup id for p. The engine
// audits what it finds; a backup it cannot find is audited here, so every
// attempt leaves one entry.
func (s *Server) setProtected(r *http.Request, p *principal, id int64, on bool) (*backup.Backup, error) {
	b, err := s.cfg.Engine.SetProtected(r.Context(), id, on, p.Actor())
	if err != nil && b == nil {
		s.audit(r, p, protectAction(on), &id, err, fmt.Sprintf("%s backup %d", protectAction(on), id))
	}
	return b, err
}

// protectAction is the audit action of protecting (on) or unprotecting.
func protectAction(on bool) backup.Action {
	if on {
		return "protect"
	}
	return "unprotect"
}

// asConflict is err, an EINVALID refusal caused by the backup's state
// (protected, not completed), as the API's 409: the request was fine.
func asConflict(err error) error {
	return &backup.Error{Code: backup.ECONFLICT, Message: err.Error()}
}

func (s *Server) apiProtect(on bool) func(http.ResponseWriter, *http.Request, *principal) {
	action := protectAction(on)
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		id, ok := s.apiPathID(w, r, p, action)
		if !ok {
			return
		}
		b, err := s.setProtected(r, p, id, on)
		if err != nil {
			s.apiFail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, b)
	}
}
