package backup

import "time"

// Action is what an audit entry records.
type Action string

const (
	ActionCreate   Action = "create"
	ActionRestore  Action = "restore"
	ActionDelete   Action = "delete"
	ActionVerify   Action = "verify"
	ActionDownload Action = "download"
	ActionRecover  Action = "recover"  // a crashed backup marked failed at start
	ActionSettings Action = "settings" // backup settings changed; details name the keys, never a secret
	ActionCleanup  Action = "cleanup"  // a run of the retention policy, by whoever asked for it
	// ActionNotify records a notification that could not be sent (or a
	// notify test).
	ActionNotify Action = "notify"

	// Users, roles and API tokens (internal/identity). Their details name
	// the user, role or token id, never a password or a token.
	ActionUserAdd      Action = "user.add"
	ActionUserList     Action = "user.list"
	ActionUserDisable  Action = "user.disable"
	ActionUserEnable   Action = "user.enable"
	ActionUserPassword Action = "user.password" // a password set or reset
	ActionRoleList     Action = "role.list"
	ActionRoleAdd      Action = "role.add"
	ActionRoleDelete   Action = "role.delete"
	ActionTokenCreate  Action = "token.create"
	ActionTokenList    Action = "token.list"
	ActionTokenRevoke  Action = "token.revoke"
	ActionSignIn       Action = "sign-in" // a password sign-in, failed ones too
	// ActionRemoteTest records a connection test of Google Drive or S3
	// (remotes.Provider.TestGoogleDrive, TestS3); details name the remote
	// and the outcome's message, never a credential.
	ActionRemoteTest Action = "remote.test"
)

// AuditEntry is one row of backup_logs: who did what to which backup, when,
// and how it went. Details never hold secrets.
type AuditEntry struct {
	ID        int64     `json:"id"`
	BackupID  *int64    `json:"backup_id"` // nil when the backup was never recorded
	UserID    *int64    `json:"user_id"`   // a web user; nil for the CLI
	Actor     string    `json:"actor"`     // "cli:alice", "system", a user name
	Action    Action    `json:"action"`
	Outcome   string    `json:"outcome"` // "success" or "failure"
	Details   string    `json:"details"`
	CreatedAt time.Time `json:"created_at"`
	// SourceAddress and UserAgent say where a web or API request came
	// from; both are empty for the CLI and the scheduler.
	SourceAddress string `json:"source_address"`
	UserAgent     string `json:"user_agent"`
}

// AuditFilter selects audit entries; zero fields match all, and the
// fields given must all match. Newest first (by CreatedAt, then ID).
type AuditFilter struct {
	BackupID *int64
	Action   *Action
	// Actor matches the entry's actor exactly, regardless of case: a web
	// user's name, "cli:alice", "scheduler".
	Actor string
	// UserID matches entries of that web user.
	UserID *int64
	// Outcome matches "success" or "failure" (exactly).
	Outcome string
	// Since and Until bound CreatedAt: Since <= CreatedAt < Until. Zero
	// times leave that side open.
	Since, Until time.Time
	// MaxID, when positive, matches only entries with ID <= MaxID: pages
	// of one listing stay stable while new entries arrive (auditcsv's
	// export sets it from its first page).
	MaxID int64
	// Offset skips that many matching entries; Limit returns at most that
	// many (0: all).
	Offset, Limit int
}
