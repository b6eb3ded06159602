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
	"github.com/autoapi-go/autoapi/introspect"
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

// CheckValidationTags runs v over a zero value of the resource so that a
// malformed `validate` tag, which the validator reports by panicking, fails
// registration instead of a request.
func CheckValidationTags(v *validator.Validate, res *introspect.Resource) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handlers: model %s: bad validate tag: %v", res.ModelName, p)
		}
	}()
	for _, f := range res.Fields {
		if f.Validate != "" {
			_ = v.Var(reflect.Zero(f.Type).Interface(), f.Validate)
		}
	}
	_ = v.Struct(res.New().Interface())
	return nil
}

// validateFields checks the fields a write sets (all of them on create)
// against their `validate` tags: 422, one entry per failing field.
func (c *Context) validateFields(rec reflect.Value, fields []*introspect.Field) error {
	v := c.ep.Validator
	if v == nil {
		return nil
	}
	var errs []FieldError
	for _, f := range fields {
		if f.Validate == "" || f.Hidden {
			continue
		}
		err := v.Var(f.Value(rec).Interface(), f.Validate)
		var verrs validator.ValidationErrors
		if errors.As(err, &verrs) && len(verrs) > 0 {
			errs = append(errs, FieldError{Field: f.JSON, Message: ruleMessage(verrs[0])})
		} else if err != nil {
			return err
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return unprocessable(errs)
}

func unprocessable(errs []FieldError) *Problem {
	p := NewProblem(http.StatusUnprocessableEntity, "the request body fails validation", errs...)
	if len(errs) == 1 {
		p.Detail = errs[0].Field + ": " + errs[0].Message
	}
	return p
}

// ruleMessage says in words which rule a value broke.
func ruleMessage(fe validator.FieldError) string {
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
	}
	if fe.Param() != "" {
		return fmt.Sprintf("fails the %s=%s rule", fe.Tag(), fe.Param())
	}
	return "fails the " + fe.Tag() + " rule"
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
func (c *Context) checkParents(ctx context.Context, tx bun.IDB, rec reflect.Value, set []*introspect.Field) error {
	var errs []FieldError
	for i := range c.ep.Resource.Relations {
		rel := &c.ep.Resource.Relations[i]
		if rel.Kind != schema.BelongsToRelation || !containsField(set, rel.Base) {
			continue
		}
		parent, ok := c.ep.Related[rel.Related]
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
		read := c.scopeOn(parent, auth.ActionRead)
		if read == scopeNone {
			read = scopeAll
		}
		q := unscoped(tx.NewSelect().Model(parent.New().Interface()), parent).Where("? = ?", rel.JoinColumn, key)
		v, args, _ := c.visibility(parent, read, scopeNone, liveRows)
		q = where(q, v, args)
		if c.ep.RowLocks {
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

// checksParents reports whether writes of this resource check belongs-to
// references (see checkParents).
func (c *Context) checksParents() bool {
	for i := range c.ep.Resource.Relations {
		rel := &c.ep.Resource.Relations[i]
		if _, registered := c.ep.Related[rel.Related]; registered && rel.Kind == schema.BelongsToRelation {
			return true
		}
	}
	return false
}

func containsField(fields []*introspect.Field, f *introspect.Field) bool {
	for _, x := range fields {
		if x == f {
			return true
		}
	}
	return false
}
