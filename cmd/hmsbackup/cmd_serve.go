package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	catalogsqlite "github.com/hmsbackup/hmsbackup/internal/catalog/sqlite"
	"github.com/hmsbackup/hmsbackup/internal/engine"
	"github.com/hmsbackup/hmsbackup/internal/identity"
	"github.com/hmsbackup/hmsbackup/internal/queue"
	"github.com/hmsbackup/hmsbackup/internal/scheduler"
	"github.com/hmsbackup/hmsbackup/internal/web"
)

func (c *cli) serveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the scheduler and the backup workers in the foreground (HTTP /healthz on HMSBACKUP_LISTEN)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.logger = slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			return c.withApp(cmd.Context(), func(a *app) error { return c.serve(cmd.Context(), a) })
		},
	}
}

// serve runs until ctx ends (SIGTERM, SIGINT): then it stops taking jobs,
// lets a running backup finish (HMSBACKUP_SHUTDOWN_TIMEOUT, then cancels
// it, and the engine records it failed) and returns.
func (c *cli) serve(ctx context.Context, a *app) error {
	log := c.logger
	if err := c.firstAdmin(ctx, a); err != nil {
		return err
	}
	a.progress = web.NewProgress()
	q, err := queue.Open(ctx, queue.Config{
		CatalogPath: filepath.Join(a.cfg.DataDir, "catalog.db"),
		Attempts:    a.cfg.JobAttempts,
		RetryDelay:  a.cfg.JobRetryDelay,
		Logger:      log.With("component", "queue"),
		Handler:     a.runBackupJob,
		NotifyHandler: func(ctx context.Context, args queue.NotifyArgs) error {
			return a.notifier.dispatcher.Only(args.Channels).Notify(ctx, args.Notification)
		},
		RestoreHandler: web.RunRestore(a.engine, a.progress),
	})
	if err != nil {
		return err
	}
	defer q.Close()
	a.queue = q
	// A notification that cannot be sent is tried again by the queue, on
	// the channels that failed.
	a.notifier.retry = func(ctx context.Context, note backup.Notification, channels []string) {
		if err := q.EnqueueNotification(context.WithoutCancel(ctx), queue.NotifyArgs{Notification: note, Channels: channels}); err != nil {
			log.Error("cannot queue a notification for a retry", "kind", note.Kind, "err", err)
		} else {
			log.Warn("notification queued for a retry", "kind", note.Kind, "channels", channels)
		}
	}

	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return backup.Wrap(err, backup.EUNAVAILABLE, "cannot listen on %s (HMSBACKUP_LISTEN): is another server running there?", a.cfg.Listen)
	}
	handler, cleanSessions, err := c.webHandler(a, q)
	if err != nil {
		ln.Close()
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	httpDone := make(chan error, 1)
	scheme := "http"
	if a.cfg.TLSCert != "" {
		scheme = "https"
		go func() { httpDone <- srv.ServeTLS(ln, a.cfg.TLSCert, a.cfg.TLSKey) }()
	} else {
		go func() { httpDone <- srv.Serve(ln) }()
	}
	webCtx, stopWeb := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWeb()
	go cleanSessions(webCtx)

	if err := q.Start(ctx); err != nil {
		srv.Close()
		return err
	}
	sched := &scheduler.Scheduler{
		Next: a.nextScheduledRun,
		Enqueue: func(ctx context.Context, at time.Time, catchUp bool) error {
			return a.enqueueScheduled(ctx, q, at, catchUp)
		},
		LastRun: q.LastScheduledRun,
		Logger:  log.With("component", "scheduler"),
	}
	schedCtx, stopSched := context.WithCancel(context.WithoutCancel(ctx))
	schedDone := make(chan struct{})
	go func() { sched.Run(schedCtx); close(schedDone) }()
	fmt.Fprintf(c.stderr, "hmsbackup: open %s://%s/ in a browser\n", scheme, browsable(ln.Addr()))
	log.Info("hmsbackup serve started", "listen", ln.Addr().String(), "data_dir", a.cfg.DataDir, "database", a.engine.Dumper.Info().Database)

	select {
	case <-ctx.Done():
		log.Info("stopping: a running backup may finish", "timeout", a.cfg.ShutdownTimeout)
	case err := <-httpDone:
		log.Error("the HTTP server stopped", "err", err)
	}
	stopSched()
	<-schedDone
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.cfg.ShutdownTimeout)
	defer cancel()
	qerr := q.Stop(sctx)
	_ = srv.Shutdown(sctx)
	if qerr != nil {
		log.Error("the queue did not stop cleanly", "err", qerr)
		return qerr
	}
	log.Info("hmsbackup serve stopped")
	return nil
}

// firstAdmin creates the user admin (role admin) when the catalog has no
// user yet, and prints its generated password once, to stderr only (never
// to the log lines, the catalog or the audit trail).
func (c *cli) firstAdmin(ctx context.Context, a *app) error {
	store, ok := a.catalog.(interface {
		identity.Store
		identity.Auditor
	})
	if !ok {
		return nil
	}
	users, err := store.Users(ctx)
	if err != nil || len(users) > 0 {
		return err
	}
	svc := identity.New(store, store, identity.DefaultParams(), c.logger)
	_, password, err := svc.AddUser(ctx, identity.Actor{Name: "serve"}, "admin", "admin", "")
	if err != nil {
		return fmt.Errorf("create the first user, admin: %w", err)
	}
	fmt.Fprintf(c.stderr, "\nCreated the first user: admin, password: %s\nIt is shown this once: keep it, or set another with `hmsbackup user passwd admin`.\n\n", password)
	return nil
}

// webHandler is the web UI and API (internal/web) with the health routes,
// and the loop that deletes expired sessions.
func (c *cli) webHandler(a *app, q *queue.Queue) (http.Handler, func(context.Context), error) {
	cat, ok := a.catalog.(*catalogsqlite.Catalog)
	if !ok {
		return nil, nil, fmt.Errorf("the web UI needs the SQLite catalog")
	}
	srv, err := web.New(web.Config{
		Engine:     a.engine,
		Catalog:    a.catalog,
		Identity:   identity.New(cat, cat, identity.DefaultParams(), c.logger),
		Jobs:       q,
		Progress:   a.progress,
		Status:     a.status,
		Sessions:   cat.Sessions(),
		Seal:       a.keys,
		Overridden: a.cfg.Remotes.Overrides(),
		TestGoogleDrive: func(ctx context.Context, actor engine.Actor) (string, error) {
			res := testRemote(ctx, a, actor, engine.RemoteGoogleDrive)
			return res.Report(), res.Err
		},
		TestS3: func(ctx context.Context, actor engine.Actor) (string, error) {
			res := testRemote(ctx, a, actor, engine.RemoteS3)
			return res.Report(), res.Err
		},
		TestNotification: func(ctx context.Context, actor engine.Actor) (string, error) {
			var report strings.Builder
			err := sendTestNotification(ctx, a, actor, "the web UI's settings page", nil, &report)
			return report.String(), err
		},
		Secure:     a.cfg.TLSCert != "" || a.cfg.BehindTLSProxy,
		TrustProxy: a.cfg.BehindTLSProxy,
		Logger:     c.logger.With("component", "web"),
	})
	if err != nil {
		return nil, nil, err
	}
	clean := func(ctx context.Context) { srv.CleanSessions(ctx, 10*time.Minute, cat.Sessions().DeleteExpired) }
	return srv.Handler(a.healthHandler(q)), clean, nil
}

// browsable is the address to open in a browser: a wildcard listen
// address becomes localhost.
func browsable(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// healthHandler answers, without sign-in and revealing nothing else,
// /healthz (200 while the process and its queue answer) and /readyz (200
// while the catalog answers and the newest good backup is younger than
// max_backup_age; else 503), for load balancers and monitoring.
func (a *app) healthHandler(q *queue.Queue) http.Handler {
	mux := http.NewServeMux()
	// POST /wake: `create --queue` has queued a job; start it now rather
	// than at the next poll. It only makes the workers look.
	mux.HandleFunc("POST /wake", func(w http.ResponseWriter, r *http.Request) {
		if err := q.Wake(r.Context()); err != nil {
			http.Error(w, "queue unavailable", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if _, err := q.Depth(r.Context()); err != nil {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !a.ready(r.Context()) {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// ready reports whether the catalog answers and the newest good backup is
// younger than the settings' max_backup_age.
func (a *app) ready(ctx context.Context) bool {
	s, err := a.catalog.Settings(ctx)
	if err != nil {
		return false
	}
	b, _, err := lastGood(ctx, a.catalog)
	return err == nil && b != nil && time.Since(backupTime(b)) <= time.Duration(s.MaxBackupAge)
}

// runBackupJob runs one attempt of a queued backup. Failures are notified
// once, after the last attempt (a scheduled backup's retries are not news
// until they are used up).
func (a *app) runBackupJob(ctx context.Context, job queue.Job) error {
	actor := engine.Actor{Name: job.Args.Actor}
	if actor.Name == "" {
		actor.Name = string(job.Args.Source)
	}
	actor.UserID, actor.SourceAddress, actor.UserAgent = job.Args.UserID, job.Args.SourceAddress, job.Args.UserAgent
	var progress io.Writer
	if a.progress != nil {
		progress = a.progress.BackupProgress(job.ID)
	}
	b, err := a.engine.CreateBackup(ctx, engine.CreateRequest{Source: job.Args.Source, Actor: actor, QuietFailure: true, Progress: progress})
	if a.progress != nil {
		a.progress.Finish(job.ID, err)
	}
	// A backup's buffers are garbage now; give the memory back, so an idle
	// server stays small.
	defer debug.FreeOSMemory()
	if err == nil {
		if err := queue.RecordBackup(ctx, b.ID); err != nil {
			a.engine.Logger.Warn("cannot record the job's backup", "job", job.ID, "err", err)
		}
		if job.Args.Source == backup.SourceScheduled {
			// Retention after every successful scheduled backup; its
			// failures are notified by Cleanup and do not fail the job.
			if res, err := a.engine.Cleanup(ctx, engine.CleanupRequest{Actor: engine.Actor{Name: "scheduler"}}); err != nil {
				a.engine.Logger.Error("retention cleanup failed", "err", err)
			} else {
				a.engine.Logger.Info("retention cleanup", "deleted", len(res.Deleted), "pruned", len(res.Pruned), "kept", len(res.Kept))
			}
		}
		return nil
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		// The server is stopping: the record is failed, the job runs again
		// at the next start.
		return err
	}
	if job.LastAttempt() {
		kind := backup.NotifyBackupFailed
		if job.Args.Source == backup.SourceScheduled {
			kind = backup.NotifyScheduledBackupFailed
		}
		a.engine.NotifyAs(context.WithoutCancel(ctx), actor, backup.Notification{Kind: kind, Backup: b,
			Message: fmt.Sprintf("%s backup failed after %d attempts; the last error: %v", job.Args.Source, job.Attempt, err),
			Error:   err.Error()})
	}
	return err
}

// enqueueScheduled queues the backup of one scheduled run.
func (a *app) enqueueScheduled(ctx context.Context, q *queue.Queue, at time.Time, catchUp bool) error {
	id, dup, err := q.EnqueueBackup(ctx, queue.BackupArgs{Source: backup.SourceScheduled, Actor: "scheduler", ScheduledFor: at})
	if err == nil && !dup {
		a.engine.Logger.Info("scheduled backup queued", "job", id, "run", at, "catch_up", catchUp)
	}
	return err
}
