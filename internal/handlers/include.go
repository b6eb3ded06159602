package handlers

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// Related records: ?include=user,comments.user embeds relations declared
// with bun's rel tags. Each relation level is one query for all the parent
// rows of the page (no N+1), and each related resource applies its own
// rules: read permission, hidden fields, and the soft-delete predicate
// unless the caller may read its deleted rows and asked for them.

const paramInclude = "include"

// MaxIncludeDepth bounds include paths such as comments.user.posts.
const MaxIncludeDepth = 3

// include is one node of the include tree.
type include struct {
	rel         *introspect.Relation
	res         *introspect.Resource
	fields      []*introspect.Field
	withDeleted bool // deleted related rows are loaded too
	// read and readDeleted are how far the caller's grants on the related
	// resource reach.
	read, readDeleted scope
	children          []*include
}

// parseIncludes resolves ?include= for the resource being served, checking
// the caller's read permission on every related resource.
func (s *Service) parseIncludes(g *grants, v string, includeDeleted bool) ([]*include, error) {
	var roots []*include
	for _, path := range strings.Split(v, ",") {
		names := strings.Split(path, ".")
		if len(names) > MaxIncludeDepth {
			return nil, fieldProblem(paramInclude, fmt.Sprintf("%q is nested deeper than %d levels", path, MaxIncludeDepth))
		}
		level, parent := &roots, s.res
		for _, name := range names {
			node, err := s.includeNode(g, level, parent, name, includeDeleted)
			if err != nil {
				return nil, err
			}
			level, parent = &node.children, node.res
		}
	}
	return roots, nil
}

// includeNode finds or adds the node for relation name of parent in level.
func (s *Service) includeNode(g *grants, level *[]*include, parent *introspect.Resource, name string, includeDeleted bool) (*include, error) {
	for _, n := range *level {
		if n.rel.Name == name {
			return n, nil
		}
	}
	rel, ok := parent.RelationByName(name)
	var related *introspect.Resource
	if ok {
		related, ok = s.ep.Related[rel.Related]
	}
	if !ok {
		return nil, fieldProblem(paramInclude, fmt.Sprintf("%s has no relation %q", parent.Name, name))
	}
	read := g.scope(related, auth.ActionRead)
	if read == scopeNone {
		if g.principal.Anonymous() {
			return nil, auth.Unauthenticated(fmt.Sprintf("include %s: authentication is required to read %s", name, related.Name))
		}
		return nil, Problemf(http.StatusForbidden, "include %s: you may not read %s", name, related.Name)
	}
	readDeleted := g.readDeleted(related)
	n := &include{
		rel:         rel,
		res:         related,
		fields:      related.Exposed(readDeleted != scopeNone),
		read:        read,
		readDeleted: readDeleted,
		withDeleted: readDeleted != scopeNone && includeDeleted,
	}
	*level = append(*level, n)
	return n, nil
}

// loadIncludes fills the relation fields of rows (a slice of structs) for
// every node, one query per node.
func (s *Service) loadIncludes(ctx context.Context, g *grants, rows reflect.Value, nodes []*include) error {
	for _, n := range nodes {
		if err := s.loadInclude(ctx, g, rows, n); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) loadInclude(ctx context.Context, g *grants, rows reflect.Value, n *include) error {
	keys := make([]any, 0, rows.Len())
	seen := make(map[string]bool, rows.Len())
	for i := 0; i < rows.Len(); i++ {
		if k, ok := joinKey(n.rel.Base.Value(rows.Index(i))); ok && !seen[keyString(k)] {
			seen[keyString(k)] = true
			keys = append(keys, k)
		}
	}
	related := reflect.New(reflect.SliceOf(n.res.Type))
	// owners maps each related row (by its index) to the parent keys it
	// belongs to.
	var owners func(i int) []string
	if len(keys) > 0 {
		var err error
		if owners, err = s.queryRelated(ctx, g, n, keys, related); err != nil {
			return err
		}
	}
	list := related.Elem()
	if len(n.children) > 0 && list.Len() > 0 {
		if err := s.loadIncludes(ctx, g, list, n.children); err != nil {
			return err
		}
	}

	byKey := make(map[string][]reflect.Value, list.Len())
	for i := 0; i < list.Len(); i++ {
		for _, k := range owners(i) {
			byKey[k] = append(byKey[k], list.Index(i))
		}
	}
	for i := 0; i < rows.Len(); i++ {
		row := rows.Index(i)
		var matches []reflect.Value
		if k, ok := joinKey(n.rel.Base.Value(row)); ok {
			matches = byKey[keyString(k)]
		}
		assignRelation(row.FieldByIndex(n.rel.Index), matches)
	}
	return nil
}

// queryRelated loads the related rows of keys into dest and says which
// parent keys each one belongs to.
func (s *Service) queryRelated(ctx context.Context, g *grants, n *include, keys []any, dest reflect.Value) (func(int) []string, error) {
	res := n.res
	q := unscoped(s.ep.DB.NewSelect().Model(dest.Interface()), res)
	rows := liveRows
	if n.withDeleted {
		rows = withDeletedRows
	}
	v, args, _ := g.visibility(res, n.read, n.readDeleted, rows)
	q = where(q, v, args)
	q = q.OrderExpr("? ASC", res.PK.Ident)

	if n.rel.M2M == nil {
		if err := q.Where("? IN (?)", n.rel.JoinColumn, bun.In(keys)).Scan(ctx); err != nil {
			return nil, err
		}
		list := dest.Elem()
		return func(i int) []string {
			k, ok := joinKey(list.Index(i).FieldByIndex(n.rel.JoinIndex))
			if !ok {
				return nil
			}
			return []string{keyString(k)}
		}, nil
	}

	// Many-to-many: the junction rows first, then the related rows.
	m := n.rel.M2M
	var pairs []struct {
		Base    string `bun:"base"`
		Related string `bun:"related"`
	}
	err := s.ep.DB.NewSelect().TableExpr("?", m.Table).
		ColumnExpr("CAST(? AS TEXT) AS base, CAST(? AS TEXT) AS related", n.rel.JoinColumn, m.RelatedColumn).
		Where("? IN (?)", n.rel.JoinColumn, bun.In(keys)).
		Scan(ctx, &pairs)
	if err != nil {
		return nil, err
	}
	parents := map[string][]string{}
	var relatedKeys []string
	for _, p := range pairs {
		if parents[p.Related] == nil {
			relatedKeys = append(relatedKeys, p.Related)
		}
		parents[p.Related] = append(parents[p.Related], p.Base)
	}
	if len(relatedKeys) == 0 {
		return func(int) []string { return nil }, nil
	}
	if err := q.Where("CAST(? AS TEXT) IN (?)", m.RelatedPK, bun.In(relatedKeys)).Scan(ctx); err != nil {
		return nil, err
	}
	list := dest.Elem()
	return func(i int) []string {
		k, _ := joinKey(res.PK.Value(list.Index(i)))
		return parents[keyString(k)]
	}, nil
}

// joinKey reads a join column's value; ok is false for NULL.
func joinKey(v reflect.Value) (any, bool) {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return nil, false
		}
		v = v.Elem()
	}
	return v.Interface(), true
}

// keyString normalises a key so that an int64 from one table matches the
// same number held as another integer type in the other.
func keyString(k any) string {
	switch k := k.(type) {
	case string:
		return k
	case int64:
		return strconv.FormatInt(k, 10)
	}
	return fmt.Sprint(k)
}

// assignRelation stores the matched related rows into a relation field: a
// pointer or struct for to-one relations, a slice for to-many ones.
func assignRelation(field reflect.Value, matches []reflect.Value) {
	t := field.Type()
	switch t.Kind() {
	case reflect.Slice:
		s := reflect.MakeSlice(t, 0, len(matches))
		for _, m := range matches {
			if t.Elem().Kind() == reflect.Pointer {
				p := reflect.New(m.Type())
				p.Elem().Set(m)
				s = reflect.Append(s, p)
			} else {
				s = reflect.Append(s, m)
			}
		}
		field.Set(s)
	case reflect.Pointer:
		if len(matches) == 0 {
			field.Set(reflect.Zero(t))
			return
		}
		p := reflect.New(matches[0].Type())
		p.Elem().Set(matches[0])
		field.Set(p)
	default:
		if len(matches) > 0 {
			field.Set(matches[0])
		}
	}
}

// appendIncludes appends the included relations of one record as extra
// members of its JSON object (b ends just before the closing brace).
func appendIncludes(b []byte, v reflect.Value, nodes []*include) ([]byte, error) {
	var err error
	for _, n := range nodes {
		if b[len(b)-1] != '{' {
			b = append(b, ',')
		}
		b = appendString(b, n.rel.Name)
		b = append(b, ':')
		field := v.FieldByIndex(n.rel.Index)
		switch {
		case field.Kind() == reflect.Slice:
			b = append(b, '[')
			for i := 0; i < field.Len(); i++ {
				if i > 0 {
					b = append(b, ',')
				}
				item := field.Index(i)
				if item.Kind() == reflect.Pointer {
					item = item.Elem()
				}
				if b, err = appendNested(b, item, n); err != nil {
					return nil, err
				}
			}
			b = append(b, ']')
		case field.Kind() == reflect.Pointer && field.IsNil():
			b = append(b, "null"...)
		case field.Kind() == reflect.Pointer:
			if b, err = appendNested(b, field.Elem(), n); err != nil {
				return nil, err
			}
		default:
			if b, err = appendNested(b, field, n); err != nil {
				return nil, err
			}
		}
	}
	return b, nil
}

func appendNested(b []byte, v reflect.Value, n *include) ([]byte, error) {
	return appendRecord(b, v, n.fields, n.children)
}
