package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/identity"
)

// tokenRoutes registers the API tokens pages: every signed-in user
// manages their own tokens; an admin also everyone else's.
func (s *Server) tokenRoutes(mux *http.ServeMux) {
	mux.Handle("GET /tokens", s.page(anyUser, s.tokensPage))
	mux.Handle("POST /tokens", s.page(anyUser, s.createToken))
	mux.Handle("POST /tokens/{token}/revoke", s.page(anyUser, s.revokeToken))
}

// tokensData is the API tokens page: the user's tokens (an admin's: every
// user's), the users an admin may create one for, and the create form as
// sent with its messages.
type tokensData struct {
	Tokens []*identity.Token
	Users  []*identity.User // admin only
	Label  string
	For    string // the user the new token is for
	Errors map[string]string
}

func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request, p *principal) {
	s.renderTokens(w, r, p, http.StatusOK, tokensData{For: p.User.Name})
}

func (s *Server) renderTokens(w http.ResponseWriter, r *http.Request, p *principal, code int, d tokensData) {
	by := p.IdentityActor()
	of := p.User.Name
	if p.Admin() {
		of = ""
		us, err := s.cfg.Identity.Users(r.Context(), by)
		if err != nil {
			s.errorPage(w, r, p, err)
			return
		}
		d.Users = us
	}
	ts, err := s.cfg.Identity.Tokens(r.Context(), by, of)
	if err != nil {
		s.errorPage(w, r, p, err)
		return
	}
	d.Tokens = ts
	s.render(w, r, code, "tokens", "API tokens", d)
}

// createToken makes a token for the signed-in user, or, by an admin, for
// the user named in the form, and shows it once.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request, p *principal) {
	label := strings.TrimSpace(r.PostFormValue("label"))
	forUser := strings.TrimSpace(r.PostFormValue("user"))
	if forUser == "" {
		forUser = p.User.Name
	}
	if !strings.EqualFold(forUser, p.User.Name) && !p.Admin() {
		s.auditDenied(r, p, fmt.Sprintf("create an API token for user %q: only an admin may create tokens for others", forUser),
			backup.ActionTokenCreate)
		s.errorPage(w, r, p, backup.Errorf(backup.EFORBIDDEN, "Only an admin may create API tokens for another user."))
		return
	}
	t, token, err := s.cfg.Identity.CreateToken(r.Context(), p.IdentityActor(), forUser, label)
	if err != nil {
		if backup.ErrorCode(err) != backup.EINVALID && backup.ErrorCode(err) != backup.ENOTFOUND {
			s.errorPage(w, r, p, err)
			return
		}
		// The service checks the label first, then the user.
		field := "user"
		if len(label) > 100 || strings.ContainsAny(label, "\r\n") {
			field = "label"
		}
		s.renderTokens(w, r, p, http.StatusUnprocessableEntity, tokensData{Label: label, For: forUser,
			Errors: map[string]string{field: userMessage(err)}})
		return
	}
	what := fmt.Sprintf("API token %d", t.ID)
	if t.Label != "" {
		what += fmt.Sprintf(" (%s)", t.Label)
	}
	s.renderSecret(w, r, secretData{Heading: "New API token for " + t.UserName, What: "API token", Secret: token, Back: "/tokens",
		Note: fmt.Sprintf("%s acts as user %s with the permissions of their role. Send it as: Authorization: Bearer TOKEN", what, t.UserName)})
}

// revokeToken revokes the token {token}: one's own, or by an admin any.
// Another user's token is "not found", as an unknown id.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p *principal) {
	id, err := strconv.ParseInt(r.PathValue("token"), 10, 64)
	if err != nil || id < 1 {
		s.audit(r, p, backup.ActionTokenRevoke, nil, backup.Errorf(backup.ENOTFOUND, "bad token id"),
			fmt.Sprintf("revoke API token %q", truncate(r.PathValue("token"), 40)))
		s.errorPage(w, r, p, backup.Errorf(backup.ENOTFOUND, "no such API token: ids are positive whole numbers"))
		return
	}
	var t *identity.Token
	if p.Admin() {
		t, err = s.cfg.Identity.RevokeToken(r.Context(), p.IdentityActor(), id)
	} else {
		t, err = s.cfg.Identity.RevokeOwnToken(r.Context(), p.IdentityActor(), p.User.ID, id)
	}
	if err != nil {
		s.errorPage(w, r, p, err)
		return
	}
	s.flash(r, "Revoked API token %d of %s: it no longer works.", t.ID, t.UserName)
	http.Redirect(w, r, "/tokens", http.StatusSeeOther)
}
