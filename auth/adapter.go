package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	"github.com/uptrace/bun"
)

// CasbinRule is one policy line in the casbin_rules table.
type CasbinRule struct {
	bun.BaseModel `bun:"table:casbin_rules"`

	ID    int64  `bun:"id,pk,autoincrement"`
	PType string `bun:"ptype,notnull"`
	V0    string `bun:"v0,notnull"`
	V1    string `bun:"v1,notnull"`
	V2    string `bun:"v2,notnull"`
	V3    string `bun:"v3,notnull"`
	V4    string `bun:"v4,notnull"`
	V5    string `bun:"v5,notnull"`
}

func (r *CasbinRule) values() []string {
	vs := []string{r.V0, r.V1, r.V2, r.V3, r.V4, r.V5}
	for len(vs) > 0 && vs[len(vs)-1] == "" {
		vs = vs[:len(vs)-1]
	}
	return vs
}

func newRule(ptype string, rule []string) (*CasbinRule, error) {
	if len(rule) > 6 {
		return nil, fmt.Errorf("auth: a policy rule has at most 6 values, got %d", len(rule))
	}
	r := &CasbinRule{PType: ptype}
	fields := []*string{&r.V0, &r.V1, &r.V2, &r.V3, &r.V4, &r.V5}
	for i, v := range rule {
		*fields[i] = v
	}
	return r, nil
}

// BunAdapter stores the casbin policy in the casbin_rules table of the
// app's own database, SQLite or PostgreSQL. It is written here because the
// public bun adapters ignore the caller's context, save outside a
// transaction, or support PostgreSQL only.
//
// It implements casbin's whole adapter contract: persist.Adapter,
// BatchAdapter and UpdatableAdapter, and their context variants; each
// change that touches several rules is one transaction, so a failure
// midway stores none of it. casbin calls the context-free methods
// (LoadPolicy, AddPolicies...) from its own API; those use the context the
// adapter was made with, since casbin gives them none.
type BunAdapter struct {
	db  bun.IDB
	ctx context.Context
}

var (
	_ persist.Adapter                 = (*BunAdapter)(nil)
	_ persist.ContextAdapter          = (*BunAdapter)(nil)
	_ persist.BatchAdapter            = (*BunAdapter)(nil)
	_ persist.ContextBatchAdapter     = (*BunAdapter)(nil)
	_ persist.UpdatableAdapter        = (*BunAdapter)(nil)
	_ persist.ContextUpdatableAdapter = (*BunAdapter)(nil)
)

// NewBunAdapter returns an adapter over db, creating the casbin_rules
// table if it is missing. ctx serves the calls casbin makes without one;
// pass the application's lifetime context.
func NewBunAdapter(ctx context.Context, db bun.IDB) (*BunAdapter, error) {
	if _, err := db.NewCreateTable().Model((*CasbinRule)(nil)).IfNotExists().Exec(ctx); err != nil {
		return nil, fmt.Errorf("auth: create casbin_rules: %w", err)
	}
	return &BunAdapter{db: db, ctx: ctx}, nil
}

// Empty reports whether the table holds no rule yet, e.g. to seed it.
func (a *BunAdapter) Empty(ctx context.Context) (bool, error) {
	n, err := a.db.NewSelect().Model((*CasbinRule)(nil)).Count(ctx)
	return n == 0, err
}

// LoadPolicyCtx loads every rule into m.
func (a *BunAdapter) LoadPolicyCtx(ctx context.Context, m model.Model) error {
	var rules []CasbinRule
	if err := a.db.NewSelect().Model(&rules).Order("id").Scan(ctx); err != nil {
		return err
	}
	for i := range rules {
		// casbin indexes the model by the ptype's first letter and panics
		// on one it does not define, so an unknown or empty ptype is an
		// error naming the row here.
		pt := rules[i].PType
		if pt == "" || m[pt[:1]] == nil || m[pt[:1]][pt] == nil {
			return fmt.Errorf("auth: casbin_rules row %d: ptype %q is not defined by the model", rules[i].ID, pt)
		}
		line := append([]string{pt}, rules[i].values()...)
		if err := persist.LoadPolicyArray(line, m); err != nil {
			return err
		}
	}
	return nil
}

// SavePolicyCtx replaces the stored policy with m's, in one transaction,
// so no instance ever loads half of it.
func (a *BunAdapter) SavePolicyCtx(ctx context.Context, m model.Model) error {
	var rules []*CasbinRule
	for _, sec := range []string{"p", "g"} {
		for ptype, ast := range m[sec] {
			for _, rule := range ast.Policy {
				r, err := newRule(ptype, rule)
				if err != nil {
					return err
				}
				rules = append(rules, r)
			}
		}
	}
	return a.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewDelete().Model((*CasbinRule)(nil)).Where("1 = 1").Exec(ctx); err != nil {
			return err
		}
		if len(rules) == 0 {
			return nil
		}
		_, err := tx.NewInsert().Model(&rules).Exec(ctx)
		return err
	})
}

// matchRule is the condition selecting the stored copies of one rule:
// every column compared, since casbin identifies a rule by all its values.
const matchRule = "ptype = ? AND v0 = ? AND v1 = ? AND v2 = ? AND v3 = ? AND v4 = ? AND v5 = ?"

func (r *CasbinRule) matchArgs() []any {
	return []any{r.PType, r.V0, r.V1, r.V2, r.V3, r.V4, r.V5}
}

// toRules converts rules of one ptype, refusing the whole batch if any
// rule is malformed, before anything is written.
func toRules(ptype string, rules [][]string) ([]*CasbinRule, error) {
	out := make([]*CasbinRule, len(rules))
	for i, rule := range rules {
		r, err := newRule(ptype, rule)
		if err != nil {
			return nil, err
		}
		out[i] = r
	}
	return out, nil
}

// insertRules stores the rules not stored yet, so that the table holds
// each rule once, as casbin's policy does. casbin hands over rules its
// model already holds (AddPoliciesEx passes them all), and another
// instance may have stored a rule this one has not loaded; storing those
// again would grow the table with every such call. (Two instances adding
// one rule at the same moment may still store it twice; removals and
// updates act on every copy, so that is harmless.)
func insertRules(ctx context.Context, db bun.IDB, rules []*CasbinRule) error {
	fresh := make([]*CasbinRule, 0, len(rules))
	seen := make(map[CasbinRule]bool, len(rules))
	for _, r := range rules {
		if seen[*r] {
			continue
		}
		seen[*r] = true
		stored, err := db.NewSelect().Model((*CasbinRule)(nil)).Where(matchRule, r.matchArgs()...).Exists(ctx)
		if err != nil {
			return err
		}
		if !stored {
			fresh = append(fresh, r)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	_, err := db.NewInsert().Model(&fresh).Exec(ctx)
	return err
}

// deleteRule deletes every stored copy of r.
func deleteRule(ctx context.Context, db bun.IDB, r *CasbinRule) error {
	_, err := db.NewDelete().Model((*CasbinRule)(nil)).Where(matchRule, r.matchArgs()...).Exec(ctx)
	return err
}

// ErrRuleNotStored is returned by the update methods when a rule to
// replace is not in the table, e.g. because another instance removed it
// after this one loaded the policy. The whole change is refused: casbin
// would otherwise put the new rule in its model while the table never got
// it, and the next reload would silently drop it.
var ErrRuleNotStored = errors.New("auth: the policy rule to update is not stored; reload the policy")

// storedIDs returns the ids of the stored copies of r;
// ErrRuleNotStored if there are none.
func storedIDs(ctx context.Context, db bun.IDB, r *CasbinRule) ([]int64, error) {
	var ids []int64
	err := db.NewSelect().Model((*CasbinRule)(nil)).Column("id").Where(matchRule, r.matchArgs()...).Scan(ctx, &ids)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: %s, %s", ErrRuleNotStored, r.PType, strings.Join(r.values(), ", "))
	}
	return ids, nil
}

// filter is the condition of the filtered methods: the rules of ptype
// whose values from fieldIndex on match fieldValues ("" matches anything,
// as in casbin's model).
func filter(ptype string, fieldIndex int, fieldValues []string) (string, []any, error) {
	if fieldIndex < 0 || fieldIndex+len(fieldValues) > 6 {
		return "", nil, errors.New("auth: policy filter out of range")
	}
	conds, args := []string{"ptype = ?"}, []any{ptype}
	for i, v := range fieldValues {
		if v != "" {
			conds = append(conds, "? = ?")
			args = append(args, bun.Ident(fmt.Sprintf("v%d", fieldIndex+i)), v)
		}
	}
	return strings.Join(conds, " AND "), args, nil
}

// AddPolicyCtx stores one rule.
func (a *BunAdapter) AddPolicyCtx(ctx context.Context, sec string, ptype string, rule []string) error {
	return a.AddPoliciesCtx(ctx, sec, ptype, [][]string{rule})
}

// AddPoliciesCtx stores rules, all or none, in one transaction.
func (a *BunAdapter) AddPoliciesCtx(ctx context.Context, _ string, ptype string, rules [][]string) error {
	rs, err := toRules(ptype, rules)
	if err != nil {
		return err
	}
	return a.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return insertRules(ctx, tx, rs)
	})
}

// RemovePolicyCtx deletes one rule.
func (a *BunAdapter) RemovePolicyCtx(ctx context.Context, _ string, ptype string, rule []string) error {
	r, err := newRule(ptype, rule)
	if err != nil {
		return err
	}
	return deleteRule(ctx, a.db, r)
}

// RemovePoliciesCtx deletes rules, all or none, in one transaction. A rule
// that is not stored is no error: it is gone, as asked.
func (a *BunAdapter) RemovePoliciesCtx(ctx context.Context, _ string, ptype string, rules [][]string) error {
	rs, err := toRules(ptype, rules)
	if err != nil {
		return err
	}
	return a.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, r := range rs {
			if err := deleteRule(ctx, tx, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// RemoveFilteredPolicyCtx deletes the rules whose values from fieldIndex
// on match fieldValues ("" matches anything).
func (a *BunAdapter) RemoveFilteredPolicyCtx(ctx context.Context, _ string, ptype string, fieldIndex int, fieldValues ...string) error {
	where, args, err := filter(ptype, fieldIndex, fieldValues)
	if err != nil {
		return err
	}
	_, err = a.db.NewDelete().Model((*CasbinRule)(nil)).Where(where, args...).Exec(ctx)
	return err
}

// UpdatePolicyCtx replaces oldRule with newRule; ErrRuleNotStored if
// oldRule is not stored.
func (a *BunAdapter) UpdatePolicyCtx(ctx context.Context, sec string, ptype string, oldRule, newRule []string) error {
	return a.UpdatePoliciesCtx(ctx, sec, ptype, [][]string{oldRule}, [][]string{newRule})
}

// UpdatePoliciesCtx replaces each of oldRules with the newRules at the
// same position, all or none, in one transaction; ErrRuleNotStored if one
// of oldRules is not stored.
func (a *BunAdapter) UpdatePoliciesCtx(ctx context.Context, _ string, ptype string, oldRules, newRules [][]string) error {
	if len(oldRules) != len(newRules) {
		return fmt.Errorf("auth: %d policy rules to replace by %d", len(oldRules), len(newRules))
	}
	olds, err := toRules(ptype, oldRules)
	if err != nil {
		return err
	}
	news, err := toRules(ptype, newRules)
	if err != nil {
		return err
	}
	return a.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Every old rule is found before any is changed, and the rows are
		// then updated by id, so that rules replacing one another (A by
		// B and B by A) are each replaced once.
		ids := make([][]int64, len(olds))
		for i, r := range olds {
			found, err := storedIDs(ctx, tx, r)
			if err != nil {
				return err
			}
			ids[i] = found
		}
		for i, next := range news {
			_, err := tx.NewUpdate().Model(next).Column("v0", "v1", "v2", "v3", "v4", "v5").
				Where("id IN (?)", bun.In(ids[i])).Exec(ctx)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// UpdateFilteredPoliciesCtx replaces the rules matching the filter (as in
// RemoveFilteredPolicyCtx) with newRules, in one transaction, and returns
// the rules it replaced, which casbin then removes from its model.
func (a *BunAdapter) UpdateFilteredPoliciesCtx(ctx context.Context, _ string, ptype string, newRules [][]string, fieldIndex int, fieldValues ...string) ([][]string, error) {
	where, args, err := filter(ptype, fieldIndex, fieldValues)
	if err != nil {
		return nil, err
	}
	news, err := toRules(ptype, newRules)
	if err != nil {
		return nil, err
	}
	var old []CasbinRule
	err = a.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Selected first, in stored order, since the order of DELETE ...
		// RETURNING is not defined.
		if err := tx.NewSelect().Model(&old).Where(where, args...).Order("id").Scan(ctx); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*CasbinRule)(nil)).Where(where, args...).Exec(ctx); err != nil {
			return err
		}
		return insertRules(ctx, tx, news)
	})
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(old))
	for i := range old {
		out[i] = old[i].values()
	}
	return out, nil
}

// LoadPolicy implements persist.Adapter with the adapter's context.
func (a *BunAdapter) LoadPolicy(m model.Model) error { return a.LoadPolicyCtx(a.ctx, m) }

// SavePolicy implements persist.Adapter with the adapter's context.
func (a *BunAdapter) SavePolicy(m model.Model) error { return a.SavePolicyCtx(a.ctx, m) }

// AddPolicy implements persist.Adapter with the adapter's context.
func (a *BunAdapter) AddPolicy(sec, ptype string, rule []string) error {
	return a.AddPolicyCtx(a.ctx, sec, ptype, rule)
}

// RemovePolicy implements persist.Adapter with the adapter's context.
func (a *BunAdapter) RemovePolicy(sec, ptype string, rule []string) error {
	return a.RemovePolicyCtx(a.ctx, sec, ptype, rule)
}

// RemoveFilteredPolicy implements persist.Adapter with the adapter's
// context.
func (a *BunAdapter) RemoveFilteredPolicy(sec, ptype string, fieldIndex int, fieldValues ...string) error {
	return a.RemoveFilteredPolicyCtx(a.ctx, sec, ptype, fieldIndex, fieldValues...)
}

// AddPolicies implements persist.BatchAdapter with the adapter's context.
func (a *BunAdapter) AddPolicies(sec, ptype string, rules [][]string) error {
	return a.AddPoliciesCtx(a.ctx, sec, ptype, rules)
}

// RemovePolicies implements persist.BatchAdapter with the adapter's
// context.
func (a *BunAdapter) RemovePolicies(sec, ptype string, rules [][]string) error {
	return a.RemovePoliciesCtx(a.ctx, sec, ptype, rules)
}

// UpdatePolicy implements persist.UpdatableAdapter with the adapter's
// context.
func (a *BunAdapter) UpdatePolicy(sec, ptype string, oldRule, newRule []string) error {
	return a.UpdatePolicyCtx(a.ctx, sec, ptype, oldRule, newRule)
}

// UpdatePolicies implements persist.UpdatableAdapter with the adapter's
// context.
func (a *BunAdapter) UpdatePolicies(sec, ptype string, oldRules, newRules [][]string) error {
	return a.UpdatePoliciesCtx(a.ctx, sec, ptype, oldRules, newRules)
}

// UpdateFilteredPolicies implements persist.UpdatableAdapter with the
// adapter's context.
func (a *BunAdapter) UpdateFilteredPolicies(sec, ptype string, newRules [][]string, fieldIndex int, fieldValues ...string) ([][]string, error) {
	return a.UpdateFilteredPoliciesCtx(a.ctx, sec, ptype, newRules, fieldIndex, fieldValues...)
}
