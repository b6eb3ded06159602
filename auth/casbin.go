package auth

import (
	_ "embed"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	fileadapter "github.com/casbin/casbin/v2/persist/file-adapter"
	stringadapter "github.com/casbin/casbin/v2/persist/string-adapter"
)

// Actions that generated routes ask casbin about.
const (
	ActionRead        = "read"
	ActionCreate      = "create"
	ActionUpdate      = "update"
	ActionDelete      = "delete"
	ActionRestore     = "restore"
	ActionReadDeleted = "read_deleted"
	ActionHardDelete  = "hard_delete"
)

// DefaultModel is the casbin model used when none is configured: RBAC with
// role inheritance (g), and "*" as a wildcard resource or action.
//
//go:embed model.conf
var DefaultModel string

// DefaultAnonymousRole is the casbin subject checked for callers without
// credentials when no other name is configured.
const DefaultAnonymousRole = "anonymous"

// Enforcer answers "may this principal do this action on this resource"
// with casbin.
//
// Decisions are cached per (subject, resource, action): a casbin Enforce
// costs microseconds, and each request asks several. The cache is dropped
// whenever the policy changes through Reload or Update, the only ways this
// type lets it change.
type Enforcer struct {
	casbin        *casbin.SyncedEnforcer
	anonymousRole string

	// changing serializes Update and Reload: casbin's LoadPolicy reads the
	// adapter before it takes its write lock, so a reload running beside
	// an update could put back the policy from before it.
	changing sync.Mutex
	// generation counts policy changes. A decision is cached under the
	// generation it was asked in and read only in that one, so that a
	// decision computed while the policy changed is never served after.
	generation atomic.Uint64
	decisions  sync.Map // decisionKey -> bool
}

type decisionKey struct {
	generation    uint64
	sub, obj, act string
}

// EnforcerConfig configures NewEnforcer.
type EnforcerConfig struct {
	// Model is the casbin model text; DefaultModel when empty.
	Model string
	// Adapter supplies the policy; it wins over PolicyFile and Policy.
	Adapter persist.Adapter
	// PolicyFile is a casbin policy CSV file.
	PolicyFile string
	// Policy is casbin policy CSV text, e.g. an embedded file.
	Policy string
	// AnonymousRole is the subject for anonymous callers;
	// DefaultAnonymousRole when empty.
	AnonymousRole string
}

// NewEnforcer loads the model and policy. Exactly one policy source is
// required: a policy that silently allowed nothing would look like a bug in
// every route.
func NewEnforcer(cfg EnforcerConfig) (*Enforcer, error) {
	text := cfg.Model
	if text == "" {
		text = DefaultModel
	}
	m, err := model.NewModelFromString(text)
	if err != nil {
		return nil, fmt.Errorf("auth: casbin model: %w", err)
	}
	adapter := cfg.Adapter
	switch {
	case adapter != nil:
	case cfg.PolicyFile != "":
		adapter = fileadapter.NewAdapter(cfg.PolicyFile)
	case cfg.Policy != "":
		adapter = stringadapter.NewAdapter(cfg.Policy)
	default:
		return nil, fmt.Errorf("auth: no casbin policy: set a policy file, policy text or adapter")
	}
	e, err := casbin.NewSyncedEnforcer(m, adapter)
	if err != nil {
		return nil, fmt.Errorf("auth: casbin policy: %w", err)
	}
	anon := cfg.AnonymousRole
	if anon == "" {
		anon = DefaultAnonymousRole
	}
	return &Enforcer{casbin: e, anonymousRole: anon}, nil
}

// Allowed reports whether any of p's roles (the anonymous role for an
// anonymous principal) may do action on resource.
func (e *Enforcer) Allowed(p Principal, resource, action string) (bool, error) {
	if p.Anonymous() {
		return e.enforce(e.anonymousRole, resource, action)
	}
	for _, role := range p.Roles {
		ok, err := e.enforce(role, resource, action)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

func (e *Enforcer) enforce(sub, obj, act string) (bool, error) {
	key := decisionKey{e.generation.Load(), sub, obj, act}
	if ok, hit := e.decisions.Load(key); hit {
		return ok.(bool), nil
	}
	ok, err := e.casbin.Enforce(sub, obj, act)
	if err == nil {
		e.decisions.Store(key, ok)
	}
	return ok, err
}

// Update changes the policy through casbin's API, e.g.
//
//	err := enforcer.Update(func(c *casbin.SyncedEnforcer) error {
//		_, err := c.AddPolicy("user", "posts", "restore")
//		return err
//	})
//
// and drops the cached decisions. With a policy adapter the change is
// saved at once, and other instances load it on their next reload.
func (e *Enforcer) Update(change func(*casbin.SyncedEnforcer) error) error {
	e.changing.Lock()
	defer e.changing.Unlock()
	defer e.changed()
	return change(e.casbin)
}

// Reload loads the policy from its source again, so that changes another
// instance saved through a shared adapter take effect here.
func (e *Enforcer) Reload() error {
	e.changing.Lock()
	defer e.changing.Unlock()
	defer e.changed()
	return e.casbin.LoadPolicy()
}

// changed starts a new generation of cached decisions.
func (e *Enforcer) changed() {
	e.generation.Add(1)
	e.decisions.Clear()
}
