package auth

import (
	_ "embed"
	"fmt"
	"slices"
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
	casbin *casbin.SyncedEnforcer
	// model is the model without policy, for loading and probing.
	model         model.Model
	source        policySource
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

	// The counts Stats reports.
	allowed, denied, hits, misses atomic.Uint64
}

// EnforcerStats counts an Enforcer's decisions since it was made: the
// answers of Allowed, and how many casbin decisions the cache served.
type EnforcerStats struct {
	Allowed, Denied        uint64
	CacheHits, CacheMisses uint64
}

// Stats returns the Enforcer's counts, for metrics.
func (e *Enforcer) Stats() EnforcerStats {
	return EnforcerStats{Allowed: e.allowed.Load(), Denied: e.denied.Load(), CacheHits: e.hits.Load(), CacheMisses: e.misses.Load()}
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
// every route. Every policy line is checked against the model first (see
// checkRule); a malformed one is an error naming its source and line.
func NewEnforcer(cfg EnforcerConfig) (*Enforcer, error) {
	text := cfg.Model
	if text == "" {
		text = DefaultModel
	}
	m, err := model.NewModelFromString(text)
	if err != nil {
		return nil, fmt.Errorf("auth: casbin model: %w", err)
	}
	if r := m["r"]["r"]; r == nil || len(r.Tokens) != 3 {
		return nil, fmt.Errorf("auth: casbin model: the request definition must have 3 values (subject, resource, action), the ones routes ask about")
	}
	src := policySource{adapter: cfg.Adapter}
	switch {
	case cfg.Adapter != nil:
	case cfg.PolicyFile != "":
		src.file = cfg.PolicyFile
		src.adapter = fileadapter.NewAdapter(cfg.PolicyFile)
	case cfg.Policy != "":
		src.text = cfg.Policy
		src.adapter = stringadapter.NewAdapter(cfg.Policy)
	default:
		return nil, fmt.Errorf("auth: no casbin policy: set a policy file, policy text or adapter")
	}
	// The checked rules are handed to casbin through a snapshot adapter;
	// the source's own adapter takes over afterwards, for saving.
	rules, err := src.read(m)
	if err != nil {
		return nil, err
	}
	e, err := casbin.NewSyncedEnforcer(m.Copy(), snapshot(rules))
	if err != nil {
		return nil, fmt.Errorf("auth: casbin policy: %w", err)
	}
	e.SetAdapter(src.adapter)
	anon := cfg.AnonymousRole
	if anon == "" {
		anon = DefaultAnonymousRole
	}
	return &Enforcer{casbin: e, model: m, source: src, anonymousRole: anon}, nil
}

// Allowed reports whether any of p's roles (the anonymous role for an
// anonymous principal) may do action on resource.
func (e *Enforcer) Allowed(p Principal, resource, action string) (bool, error) {
	ok, err := e.allowedFor(p, resource, action)
	if err == nil {
		if ok {
			e.allowed.Add(1)
		} else {
			e.denied.Add(1)
		}
	}
	return ok, err
}

func (e *Enforcer) allowedFor(p Principal, resource, action string) (bool, error) {
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
		e.hits.Add(1)
		return ok.(bool), nil
	}
	e.misses.Add(1)
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
// instance saved through a shared adapter take effect here. A policy with
// a malformed line is refused as a whole: the error names the line, and
// the policy in force stays as it was.
func (e *Enforcer) Reload() error {
	e.changing.Lock()
	defer e.changing.Unlock()
	rules, err := e.source.read(e.model)
	if err != nil {
		return err
	}
	// Nothing else swaps the adapter, and Update, the only other user of
	// it, waits on e.changing.
	e.casbin.SetAdapter(snapshot(rules))
	defer e.casbin.SetAdapter(e.source.adapter)
	defer e.changed()
	return e.casbin.LoadPolicy()
}

// changed starts a new generation of cached decisions.
func (e *Enforcer) changed() {
	e.generation.Add(1)
	e.decisions.Clear()
}

// probe is the subject and action of the requests Ungranted asks; no
// policy line names it, so it matches only where the model's matcher
// compares a line's subject or action with the request's own.
const probe = "\x00autoapi-probe"

// Ungranted returns the resources among names on which no line of the
// current policy grants anything, so that every request to them would be
// refused. It asks the model's own matcher, so a wildcard or keyMatch
// object covers a resource without naming it: each p line is tried with
// its subject and action replaced by those of the request, which leaves
// the object (and any other field) to decide. A model whose p definition
// has no obj field cannot be judged this way; then it returns nil.
func (e *Enforcer) Ungranted(names []string) ([]string, error) {
	m := e.model.Copy()
	def := m["p"]["p"]
	if def == nil || !slices.Contains(def.Tokens, "p_obj") {
		return nil, nil
	}
	sub, act := slices.Index(def.Tokens, "p_sub"), slices.Index(def.Tokens, "p_act")
	lines, err := e.casbin.GetPolicy()
	if err != nil {
		return nil, err
	}
	for _, line := range lines {
		line = slices.Clone(line)
		if sub >= 0 {
			line[sub] = probe
		}
		if act >= 0 {
			line[act] = probe
		}
		if has, _ := m.HasPolicy("p", "p", line); !has {
			if err := m.AddPolicy("p", "p", line); err != nil {
				return nil, err
			}
		}
	}
	pe, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, err
	}
	var ungranted []string
	for _, name := range names {
		ok, err := pe.Enforce(probe, name, probe)
		if err != nil {
			return nil, err
		}
		if !ok {
			ungranted = append(ungranted, name)
		}
	}
	return ungranted, nil
}
