package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/hmsbackup/hmsbackup/internal/backup"
	"github.com/hmsbackup/hmsbackup/internal/identity"
)

// What the user and role routes need: the admin role. Each names the
// audit action a refused attempt is recorded as.
var (
	adminUserList     = route{admin: true, action: backup.ActionUserList}
	adminUserAdd      = route{admin: true, action: backup.ActionUserAdd}
	adminUserDisable  = route{admin: true, action: backup.ActionUserDisable}
	adminUserEnable   = route{admin: true, action: backup.ActionUserEnable}
	adminUserPassword = route{admin: true, action: backup.ActionUserPassword}
	adminRoleList     = route{admin: true, action: backup.ActionRoleList}
	adminRoleAdd      = route{admin: true, action: backup.ActionRoleAdd}
	adminRoleDelete   = route{admin: true, action: backup.ActionRoleDelete}
)

// userRoutes registers the users, roles and API tokens pages. The path
// wildcards are {name}, {role} and {token}, never {id}: a refused attempt
// records an {id} as a backup id.
func (s *Server) userRoutes(mux *http.ServeMux) {
	// mu makes "the admin disabling someone is still an enabled admin, and
	// not the one disabled" hold between the check and the change, so two
	// admins disabling each other at once cannot leave none.
	var mu sync.Mutex
	mux.Handle("GET /users", s.page(adminUserList, s.usersPage))
	mux.Handle("POST /users", s.page(adminUserAdd, s.addUser))
	mux.Handle("POST /users/{name}/disable", s.page(adminUserDisable, s.setUserDisabled(&mu, true)))
	mux.Handle("POST /users/{name}/enable", s.page(adminUserEnable, s.setUserDisabled(&mu, false)))
	mux.Handle("POST /users/{name}/password", s.page(adminUserPassword, s.resetPassword))
	mux.Handle("GET /roles", s.page(adminRoleList, s.rolesPage))
	mux.Handle("POST /roles", s.page(adminRoleAdd, s.addRole))
	mux.Handle("POST /roles/{role}/delete", s.page(adminRoleDelete, s.deleteRole))
	s.tokenRoutes(mux)
}

// usersData is the users page: the users, the roles a new user may get,
// the create form as sent (never its password) with a message per field,
// and a message next to one user's row.
type usersData struct {
	Users   []*identity.User
	Roles   []identity.Role
	Form    userForm
	RowUser string // the user RowErr is about
	RowErr  string
	RowOpen bool // RowErr is about the password: show its form open
}

type userForm struct {
	Name, Role string
	Errors     map[string]string // by field: name, role, password
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, p *principal) {
	s.renderUsers(w, r, p, http.StatusOK, usersData{Form: userForm{Role: identity.RoleViewer}}, nil)
}

// renderUsers reads the users and roles into d and shows the users page;
// fields, if not nil, then fills d's per-field messages.
func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, p *principal, code int, d usersData, fields func(*usersData)) {
	by := p.IdentityActor()
	us, err := s.cfg.Identity.Users(r.Context(), by)
	if err != nil {
		s.errorPage(w, r, p, err)
		return
	}
	roles, err := s.cfg.Identity.Roles(r.Context(), by)
	if err != nil {
		s.errorPage(w, r, p, err)
		return
	}
	d.Users, d.Roles = us, roles
	for _, u := range us {
		if strings.EqualFold(u.Name, d.RowUser) {
			d.RowUser = u.Name // the row is found whatever the case of the path
		}
	}
	if fields != nil {
		fields(&d)
	}
	s.render(w, r, code, "users", "Users", d)
}

// secretData is a page that shows a new password or API token: this once,
// in the response to the request that made it, never again (no redirect,
// no session, no log).
type secretData struct {
	Heading string
	What    string // "password" or "API token"
	Secret  string
	Note    string
	Back    string // where to go on
}

func (s *Server) renderSecret(w http.ResponseWriter, r *http.Request, d secretData) {
	s.render(w, r, http.StatusOK, "secret", d.Heading, d)
}

func (s *Server) addUser(w http.ResponseWriter, r *http.Request, p *principal) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	role := strings.TrimSpace(r.PostFormValue("role"))
	password := r.PostFormValue("password")
	u, generated, err := s.cfg.Identity.AddUser(r.Context(), p.IdentityActor(), name, role, password)
	if err != nil {
		if backup.ErrorCode(err) != backup.EINVALID {
			s.errorPage(w, r, p, err)
			return
		}
		s.renderUsers(w, r, p, http.StatusUnprocessableEntity, usersData{Form: userForm{Name: name, Role: role}},
			func(d *usersData) {
				d.Form.Errors = map[string]string{addUserField(d.Roles, name, role, password): userMessage(err)}
			})
		return
	}
	if generated == "" {
		s.flash(r, "Created user %s with role %s and the password you typed.", u.Name, u.Role)
		http.Redirect(w, r, "/users", http.StatusSeeOther)
		return
	}
	s.renderSecret(w, r, secretData{Heading: "User " + u.Name + " created", What: "password", Secret: generated, Back: "/users",
		Note: fmt.Sprintf("User %s (role %s) signs in with this password.", u.Name, u.Role)})
}

// addUserField says which field of the create form AddUser refused, by
// the service's checks in the service's order; what is left is a taken
// name.
func addUserField(roles []identity.Role, name, role, password string) string {
	switch {
	case identity.CheckUserName(name) != nil:
		return "name"
	case !slices.ContainsFunc(roles, func(x identity.Role) bool { return x.Name == role }):
		return "role"
	case password != "" && identity.CheckPassword(name, password) != nil:
		return "password"
	}
	return "name"
}

// setUserDisabled disables or enables the user {name}. An admin cannot
// disable themself; the one who disables is an enabled admin, so one
// always remains.
func (s *Server) setUserDisabled(mu *sync.Mutex, disabled bool) func(http.ResponseWriter, *http.Request, *principal) {
	action, verb := backup.ActionUserEnable, "enable"
	if disabled {
		action, verb = backup.ActionUserDisable, "disable"
	}
	return func(w http.ResponseWriter, r *http.Request, p *principal) {
		name := r.PathValue("name")
		mu.Lock()
		defer mu.Unlock()
		if disabled {
			if strings.EqualFold(name, p.User.Name) {
				err := backup.Errorf(backup.EINVALID, "You cannot disable yourself: another admin must do it. This keeps at least one admin able to sign in.")
				s.audit(r, p, action, nil, err, fmt.Sprintf("%s user %q", verb, name))
				s.renderUsers(w, r, p, http.StatusUnprocessableEntity, usersData{Form: userForm{Role: identity.RoleViewer}, RowUser: name, RowErr: userMessage(err)}, nil)
				return
			}
			// Another admin may have disabled this one a moment ago.
			if me, err := s.cfg.Identity.ActiveUser(r.Context(), p.User.ID); err != nil || me.Role != identity.RoleAdmin {
				err = backup.Errorf(backup.EFORBIDDEN, "You are no longer an enabled admin.")
				s.audit(r, p, action, nil, err, fmt.Sprintf("%s user %q", verb, name))
				s.errorPage(w, r, p, err)
				return
			}
		}
		u, err := s.cfg.Identity.SetDisabled(r.Context(), p.IdentityActor(), name, disabled)
		if err != nil {
			s.errorPage(w, r, p, err)
			return
		}
		if disabled {
			s.flash(r, "Disabled user %s: their sessions and API tokens stop working now.", u.Name)
		} else {
			s.flash(r, "Enabled user %s.", u.Name)
		}
		http.Redirect(w, r, "/users", http.StatusSeeOther)
	}
}

// resetPassword sets the password of the user {name}: the one typed, or a
// generated one, shown once.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, p *principal) {
	name := r.PathValue("name")
	generated, err := s.cfg.Identity.SetPassword(r.Context(), p.IdentityActor(), name, r.PostFormValue("password"))
	if err != nil {
		if backup.ErrorCode(err) != backup.EINVALID {
			s.errorPage(w, r, p, err)
			return
		}
		s.renderUsers(w, r, p, http.StatusUnprocessableEntity, usersData{Form: userForm{Role: identity.RoleViewer},
			RowUser: name, RowErr: userMessage(err), RowOpen: true}, nil)
		return
	}
	if generated == "" {
		s.flash(r, "Changed the password of user %s to the one you typed.", name)
		http.Redirect(w, r, "/users", http.StatusSeeOther)
		return
	}
	s.renderSecret(w, r, secretData{Heading: "New password for " + name, What: "password", Secret: generated, Back: "/users",
		Note: fmt.Sprintf("User %s signs in with this password from now on; the old one no longer works.", name)})
}

// rolesData is the roles page: every role, the five permissions, the
// create form as sent with a message per field, and a message next to
// one role's delete button.
type rolesData struct {
	Roles   []identity.Role
	Perms   []identity.Permission
	Form    roleForm
	RowRole string
	RowErr  string
}

type roleForm struct {
	Name   string
	Perms  map[identity.Permission]bool
	Errors map[string]string // by field: name, perms
}

func (s *Server) rolesPage(w http.ResponseWriter, r *http.Request, p *principal) {
	s.renderRoles(w, r, p, http.StatusOK, rolesData{})
}

func (s *Server) renderRoles(w http.ResponseWriter, r *http.Request, p *principal, code int, d rolesData) {
	roles, err := s.cfg.Identity.Roles(r.Context(), p.IdentityActor())
	if err != nil {
		s.errorPage(w, r, p, err)
		return
	}
	d.Roles, d.Perms = roles, identity.Permissions()
	s.render(w, r, code, "roles", "Roles", d)
}

func (s *Server) addRole(w http.ResponseWriter, r *http.Request, p *principal) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, p, backup.Errorf(backup.EINVALID, "unreadable form: %v", err))
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	form := roleForm{Name: name, Perms: map[identity.Permission]bool{}}
	var perms []identity.Permission
	for _, v := range r.PostForm["perm"] {
		perms = append(perms, identity.Permission(v))
		form.Perms[identity.Permission(v)] = true
	}
	role, err := s.cfg.Identity.AddRole(r.Context(), p.IdentityActor(), name, perms)
	if err != nil {
		if backup.ErrorCode(err) != backup.EINVALID {
			s.errorPage(w, r, p, err)
			return
		}
		// The service's checks in its order: the name, the permissions,
		// then a taken name.
		field := "name"
		if identity.CheckRoleName(name) == nil && slices.ContainsFunc(perms, func(x identity.Permission) bool {
			_, perr := identity.ParsePermission(string(x))
			return perr != nil
		}) {
			field = "perms"
		}
		form.Errors = map[string]string{field: userMessage(err)}
		s.renderRoles(w, r, p, http.StatusUnprocessableEntity, rolesData{Form: form})
		return
	}
	s.flash(r, "Created role %s with %s.", role.Name, permList(role.Permissions))
	http.Redirect(w, r, "/roles", http.StatusSeeOther)
}

func (s *Server) deleteRole(w http.ResponseWriter, r *http.Request, p *principal) {
	name := r.PathValue("role")
	err := s.cfg.Identity.DeleteRole(r.Context(), p.IdentityActor(), name)
	if err != nil {
		if backup.ErrorCode(err) != backup.EINVALID {
			s.errorPage(w, r, p, err)
			return
		}
		s.renderRoles(w, r, p, http.StatusUnprocessableEntity, rolesData{RowRole: name, RowErr: userMessage(err)})
		return
	}
	s.flash(r, "Deleted role %s.", name)
	http.Redirect(w, r, "/roles", http.StatusSeeOther)
}

func permList(perms []identity.Permission) string {
	if len(perms) == 0 {
		return "no permissions"
	}
	s := make([]string, len(perms))
	for i, p := range perms {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}
