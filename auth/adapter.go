package auth

import (
	"context"
	"errors"
	"fmt"

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
// casbin calls the context-free methods of persist.Adapter (LoadPolicy,
// SavePolicy...) from its own API; those use the context the adapter was
// made with, since casbin gives them none.
type BunAdapter struct {
	db  bun.IDB
	ctx context.Context
}

var (
	_ persist.Adapter        = (*BunAdapter)(nil)
	_ persist.ContextAdapter = (*BunAdapter)(nil)
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
		line := append([]string{rules[i].PType}, rules[i].values()...)
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

// AddPolicyCtx stores one rule.
func (a *BunAdapter) AddPolicyCtx(ctx context.Context, _ string, ptype string, rule []string) error {
	r, err := newRule(ptype, rule)
	if err != nil {
		return err
	}
	_, err = a.db.NewInsert().Model(r).Exec(ctx)
	return err
}

// RemovePolicyCtx deletes one rule.
func (a *BunAdapter) RemovePolicyCtx(ctx context.Context, _ string, ptype string, rule []string) error {
	r, err := newRule(ptype, rule)
	if err != nil {
		return err
	}
	_, err = a.db.NewDelete().Model((*CasbinRule)(nil)).
		Where("ptype = ? AND v0 = ? AND v1 = ? AND v2 = ? AND v3 = ? AND v4 = ? AND v5 = ?",
			r.PType, r.V0, r.V1, r.V2, r.V3, r.V4, r.V5).Exec(ctx)
	return err
}

// RemoveFilteredPolicyCtx deletes the rules whose values from fieldIndex
// on match fieldValues ("" matches anything).
func (a *BunAdapter) RemoveFilteredPolicyCtx(ctx context.Context, _ string, ptype string, fieldIndex int, fieldValues ...string) error {
	if fieldIndex < 0 || fieldIndex+len(fieldValues) > 6 {
		return errors.New("auth: policy filter out of range")
	}
	q := a.db.NewDelete().Model((*CasbinRule)(nil)).Where("ptype = ?", ptype)
	for i, v := range fieldValues {
		if v != "" {
			q = q.Where("? = ?", bun.Ident(fmt.Sprintf("v%d", fieldIndex+i)), v)
		}
	}
	_, err := q.Exec(ctx)
	return err
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
