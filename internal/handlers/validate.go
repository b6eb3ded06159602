package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/schema"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// NewValidator returns the validator for `validate` tags, reporting fields
// by their JSON names.
func NewValidator() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(sf reflect.StructField) string {
		name, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		if name == "" {
			return sf.Name
		}
		return name
	})
	return v
}

// CheckValidationTags runs v over a zero value of each field of the
// resource so that a malformed `validate` tag, which the validator reports
// by panicking, fails registration instead of a request, naming the field.
// It also checks the rules that compare a field with another (see
// crossFieldRules).
func CheckValidationTags(v *validator.Validate, res *introspect.Resource) error {
	for _, f := range res.Fields {
		if f.Validate == "" {
			continue
		}
		if msg := tagPanic(func() { _ = v.Var(reflect.Zero(f.Type).Interface(), f.Validate) }); msg != "" {
			// The validator's message ends "on field ''": Var knows no name.
			msg = strings.TrimSuffix(msg, " on field ''")
			return fmt.Errorf("handlers: model %s: field %s (%s): bad validate tag %q: %s", res.ModelName, f.GoName, jsonName(f), f.Validate, msg)
		}
	}
	if _, err := crossFieldRules(res); err != nil {
		return err
	}
	// The struct as a whole, for tags the fields alone do not reach.
	if msg := tagPanic(func() { _ = v.Struct(res.New().Interface()) }); msg != "" {
		return fmt.Errorf("handlers: model %s: bad validate tag: %s", res.ModelName, msg)
	}
	return nil
}

// tagPanic runs check and returns what it panicked with, if it did.
func tagPanic(check func()) (msg string) {
	defer func() {
		if p := recover(); p != nil {
			msg = fmt.Sprint(p)
		}
	}()
	check()
	return ""
}

func jsonName(f *introspect.Field) string {
	if f.Hidden {
		return `json "-"`
	}
	return fmt.Sprintf("json %q", f.JSON)
}

// crossFieldTags are the validator rules whose parameter names other
// fields of the struct, with how to find the names in it.
var crossFieldTags = map[string]func(param string) []string{
	"eqfield": oneField, "nefield": oneField, "gtfield": oneField, "gtefield": oneField,
	"ltfield": oneField, "ltefield": oneField, "fieldcontains": oneField, "fieldexcludes": oneField,
	"eqcsfield": oneField, "necsfield": oneField, "gtcsfield": oneField, "gtecsfield": oneField,
	"ltcsfield": oneField, "ltecsfield": oneField,
	"required_with": strings.Fields, "required_with_all": strings.Fields,
	"required_without": strings.Fields, "required_without_all": strings.Fields,
	"excluded_with": strings.Fields, "excluded_with_all": strings.Fields,
	"excluded_without": strings.Fields, "excluded_without_all": strings.Fields,
	"required_if": fieldValuePairs, "required_unless": fieldValuePairs,
	"excluded_if": fieldValuePairs, "excluded_unless": fieldValuePairs,
	"skip_unless": fieldValuePairs,
}

func oneField(param string) []string { return []string{param} }

func fieldValuePairs(param string) []string {
	var names []string
	for i, word := range strings.Fields(param) {
		if i%2 == 0 {
			names = append(names, word)
		}
	}
	return names
}

// crossRule is one rule of a field's `validate` tag that compares the
// field with others, e.g. eqfield=Password.
type crossRule struct {
	field *introspect.Field
	rule  string
	refs  []*introspect.Field
}

// crossFieldRules finds the rules of the resource's `validate` tags that
// name other fields. The validator finds the other field in the same
// struct, so it must be a column a request can set: a rule naming a
// missing, hidden or read-only field would fail every request, and is a
// registration error instead, as is such a rule on a read-only field.
// Hidden fields are never validated, so their rules are left out.
func crossFieldRules(res *introspect.Resource) ([]crossRule, error) {
	var rules []crossRule
	for _, f := range res.Fields {
		if f.Validate == "" || f.Hidden {
			continue // hidden fields are never validated
		}
		path := goPath(res.Type, f.Index)
		parent := path[:strings.LastIndex(path, ".")+1]
	terms:
		for _, term := range strings.Split(f.Validate, ",") {
			for _, rule := range strings.Split(term, "|") {
				name, param, _ := strings.Cut(rule, "=")
				if name == "dive" || name == "keys" {
					break terms // the rest applies to elements
				}
				names := crossFieldTags[name]
				if names == nil {
					continue
				}
				if f.ReadOnly {
					return nil, fmt.Errorf("handlers: model %s: field %s (%s): validate rule %s compares a field requests cannot set", res.ModelName, f.GoName, jsonName(f), rule)
				}
				cr := crossRule{field: f, rule: rule}
				for _, n := range names(param) {
					// A cross-struct name (Inner.Field) starts at a
					// field of this struct.
					n, _, _ = strings.Cut(n, ".")
					ref := fieldByPath(res, parent+n)
					switch {
					case ref == nil:
						return nil, fmt.Errorf("handlers: model %s: field %s (%s): validate rule %s names %s, which is not a column of the model", res.ModelName, f.GoName, jsonName(f), rule, n)
					case ref.Hidden || ref.ReadOnly:
						return nil, fmt.Errorf("handlers: model %s: field %s (%s): validate rule %s names %s, which requests cannot set", res.ModelName, f.GoName, jsonName(f), rule, ref.GoName)
					}
					cr.refs = append(cr.refs, ref)
				}
				rules = append(rules, cr)
			}
		}
	}
	return rules, nil
}

// goPath is the validator's name for the field at index in t: the Go
// field names along the way, embedded structs included, joined by dots.
func goPath(t reflect.Type, index []int) string {
	names := make([]string, len(index))
	for i, x := range index {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		sf := t.Field(x)
		names[i] = sf.Name
		t = sf.Type
	}
	return strings.Join(names, ".")
}

func fieldByPath(res *introspect.Resource, path string) *introspect.Field {
	for _, f := range res.Fields {
		if goPath(res.Type, f.Index) == path {
			return f
		}
	}
	return nil
}

// validateFields checks the fields a write sets (all of them on create)
// against their `validate` tags: 422, one entry per failing field.
//
// Fields are checked one at a time, except those in a rule comparing
// fields (eqfield=Password...), which are checked within the struct so
// that the validator sees the other field. Such a rule is checked only
// with every field it involves in the body: on update the others' stored
// values are not at hand, and comparing with a zero value would be wrong
// either way, so a body setting some of them but not all is a 422 naming
// the ones missing. Hidden fields never come from a body and are not
// checked.
func (s *Service) validateFields(rec reflect.Value, fields []*introspect.Field) error {
	v := s.ep.Validator
	if v == nil {
		return nil
	}
	res := s.res
	failed := map[*introspect.Field]string{}
	together := map[*introspect.Field]bool{} // checked within the struct
	rules, _ := crossFieldRules(res)         // checked at registration
	for _, r := range rules {
		involved := append([]*introspect.Field{r.field}, r.refs...)
		var present, missing []*introspect.Field
		for _, f := range involved {
			if containsField(fields, f) {
				present = append(present, f)
			} else {
				missing = append(missing, f)
			}
		}
		switch {
		case len(present) == 0:
		case len(missing) == 0:
			together[r.field] = true
		default:
			for _, f := range missing {
				if _, dup := failed[f]; !dup {
					failed[f] = "must be sent together with " + jsonNames(present) + ", as the rule " + r.rule + " of " + r.field.JSON + " compares them"
				}
			}
			for _, f := range present {
				// Already wrong; checked once the body is complete.
				if _, dup := failed[f]; !dup {
					failed[f] = ""
				}
			}
		}
	}
	var paths []string
	byPath := map[string]*introspect.Field{}
	for _, f := range fields {
		if f.Validate == "" || f.Hidden {
			continue
		}
		if _, done := failed[f]; done {
			continue
		}
		if together[f] {
			p := goPath(res.Type, f.Index)
			paths = append(paths, p)
			byPath[p] = f
			continue
		}
		err := v.Var(f.Value(rec).Interface(), f.Validate)
		var verrs validator.ValidationErrors
		if errors.As(err, &verrs) && len(verrs) > 0 {
			failed[f] = ruleMessage(verrs[0], res)
		} else if err != nil {
			return err
		}
	}
	if len(paths) > 0 {
		err := v.StructPartial(rec.Addr().Interface(), paths...)
		var verrs validator.ValidationErrors
		if errors.As(err, &verrs) {
			for _, fe := range verrs {
				// "Model.Path.To.Field[0]": the struct's name, then the
				// field's path, then any element.
				_, p, _ := strings.Cut(fe.StructNamespace(), ".")
				p, _, _ = strings.Cut(p, "[")
				if f := byPath[p]; f != nil {
					if _, dup := failed[f]; !dup {
						failed[f] = ruleMessage(fe, res)
					}
				}
			}
		} else if err != nil {
			return err
		}
	}
	var errs []FieldError
	for _, f := range res.Fields { // in struct order
		if msg := failed[f]; msg != "" {
			errs = append(errs, FieldError{Field: f.JSON, Message: msg})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return unprocessable(errs)
}

func jsonNames(fields []*introspect.Field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.JSON
	}
	return strings.Join(names, ", ")
}

func unprocessable(errs []FieldError) *Problem {
	p := NewProblem(http.StatusUnprocessableEntity, "the request body fails validation", errs...)
	if len(errs) == 1 {
		p.Detail = errs[0].Field + ": " + errs[0].Message
	}
	return p
}

// ruleMessage says in words which rule a value broke.
// Rules comparing fields name the other field by its JSON name.
func ruleMessage(fe validator.FieldError, res *introspect.Resource) string {
	unit := ""
	if k := fe.Kind(); k == reflect.String || k == reflect.Slice || k == reflect.Map {
		unit = " characters"
		if k != reflect.String {
			unit = " items"
		}
	}
	switch fe.Tag() {
	case "required":
		return "is required"
	case "max", "lte":
		return "must be at most " + fe.Param() + unit
	case "min", "gte":
		return "must be at least " + fe.Param() + unit
	case "len":
		return "must be exactly " + fe.Param() + unit
	case "lt":
		return "must be less than " + fe.Param() + unit
	case "gt":
		return "must be greater than " + fe.Param() + unit
	case "email":
		return "must be a valid email address"
	case "url", "http_url":
		return "must be a valid URL"
	case "oneof":
		return "must be one of: " + fe.Param()
	case "eqfield", "eqcsfield":
		return "must equal " + otherField(res, fe.Param())
	case "nefield", "necsfield":
		return "must differ from " + otherField(res, fe.Param())
	case "gtfield", "gtcsfield":
		return "must be greater than " + otherField(res, fe.Param())
	case "gtefield", "gtecsfield":
		return "must be greater than or equal to " + otherField(res, fe.Param())
	case "ltfield", "ltcsfield":
		return "must be less than " + otherField(res, fe.Param())
	case "ltefield", "ltecsfield":
		return "must be less than or equal to " + otherField(res, fe.Param())
	}
	switch {
	case strings.HasPrefix(fe.Tag(), "required_"):
		return "is required (" + fe.Tag() + "=" + fe.Param() + ")"
	case strings.HasPrefix(fe.Tag(), "excluded_"):
		return "must be left out (" + fe.Tag() + "=" + fe.Param() + ")"
	}
	if fe.Param() != "" {
		return fmt.Sprintf("fails the %s=%s rule", fe.Tag(), fe.Param())
	}
	return "fails the " + fe.Tag() + " rule"
}

// otherField is the JSON name of the field a cross-field rule names by
// its Go name.
func otherField(res *introspect.Resource, goName string) string {
	for _, f := range res.Fields {
		if f.GoName == goName && !f.Hidden {
			return f.JSON
		}
	}
	return goName
}

// checkParents verifies, inside the write's transaction and before the
// write touches the child, that every belongs-to reference the write sets
// points at a live parent. The database's foreign keys cannot see soft
// deletes, so the framework does.
//
// The check and a soft delete (or restore, or erasure) of the parent must
// exclude each other, or a child written while its parent is deleted stays
// live under it. On PostgreSQL the parent row is locked FOR SHARE until the
// write commits: a delete's UPDATE (or DELETE) of the parent then waits for
// the child's transaction, and its cascade, a later statement, sees the
// child; a child write that comes second waits for the delete and then
// finds the parent deleted. Locking the parent before the child keeps the
// order every delete uses (parent, then children), so the two never
// deadlock. SQLite needs no lock: its write transactions begin IMMEDIATE
// and run one at a time.
func (s *Service) checkParents(ctx context.Context, tx bun.IDB, g *grants, rec reflect.Value, set []*introspect.Field) error {
	var errs []FieldError
	for i := range s.res.Relations {
		rel := &s.res.Relations[i]
		if rel.Kind != schema.BelongsToRelation || !containsField(set, rel.Base) {
			continue
		}
		parent, ok := s.ep.Related[rel.Related]
		if !ok {
			continue
		}
		key, ok := joinKey(rel.Base.Value(rec))
		if !ok {
			continue // NULL references nothing
		}
		// The parent must be live and, when the caller reads that resource
		// on own rows only, one of theirs: someone else's is answered as a
		// missing one. A parent resource the caller may not read at all
		// (users, say) is checked for existence only, as a foreign key is.
		read := g.scope(parent, auth.ActionRead)
		if read == scopeNone {
			read = scopeAll
		}
		q := unscoped(tx.NewSelect().Model(parent.New().Interface()), parent).Where("? = ?", rel.JoinColumn, key)
		v, args, _ := g.visibility(parent, read, scopeNone, liveRows)
		q = where(q, v, args)
		if s.ep.RowLocks {
			q = q.For("SHARE")
		}
		exists, err := q.Exists(ctx)
		if err != nil {
			return err
		}
		if !exists {
			errs = append(errs, FieldError{Field: rel.Base.JSON, Message: "refers to a record of " + parent.Name + " that does not exist"})
		}
	}
	if len(errs) > 0 {
		return unprocessable(errs)
	}
	return nil
}

func containsField(fields []*introspect.Field, f *introspect.Field) bool {
	for _, x := range fields {
		if x == f {
			return true
		}
	}
	return false
}
