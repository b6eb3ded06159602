// Package introspect turns a registered bun model into an immutable resource
// descriptor. All reflection happens here, once, at registration; the request
// path only reads the descriptors this package builds.
package introspect

import (
	"fmt"
	"reflect"

	"github.com/uptrace/bun/schema"
)

// Resource describes one registered model: its names, its primary key, the
// fields the API exposes and the conventions it follows. A Resource is never
// modified after Build returns it.
type Resource struct {
	// Name is the resource name used in URLs and policies, e.g. "posts".
	Name string
	// ModelName is the Go type name, e.g. "Post"; errors use it.
	ModelName string
	// Type is the model's struct type (not a pointer).
	Type reflect.Type
	// Table is bun's own description of the model.
	Table *schema.Table

	// PK is the single primary key field.
	PK *Field
	// Fields lists every column field in struct order, hidden ones included.
	Fields []*Field
	// SoftDelete is the soft-delete strategy, or nil for hard-delete
	// models.
	SoftDelete *SoftDelete
	// Owner holds the id of the principal who owns a row, or nil. Policies
	// can grant an action on owned rows only ("update:own").
	Owner *Field
	// CreatedAt and UpdatedAt are the automatic timestamps, or nil.
	CreatedAt *Field
	UpdatedAt *Field
	// Relations lists the bun relations declared on the model.
	Relations []Relation
	// RequireIfMatch says single-record writes need If-Match (see
	// Options).
	RequireIfMatch bool
	// Unique lists the groups of fields tagged autoapi:"unique", in struct
	// order. On a soft-deletable resource they are unique among live rows
	// only.
	Unique []UniqueGroup

	byJSON  map[string]*Field
	exposed [2][]*Field
}

// UniqueGroup is a set of columns whose values are unique together.
type UniqueGroup struct {
	Name   string
	Fields []*Field
}

// Relation is a bun relation declared with a `rel` tag, reduced to the
// single-column join the framework loads it by.
type Relation struct {
	// Name is the relation's JSON name, used by ?include=.
	Name string
	// GoName is the struct field that holds the related record(s).
	GoName string
	// Index is the reflect index path of that field.
	Index []int
	// Kind is one of bun's schema relation constants (schema.HasOneRelation...).
	Kind int
	// Many is true for has-many and many-to-many relations.
	Many bool
	// Related is the related model's struct type.
	Related reflect.Type
	// Table is the related table's name.
	Table string
	// Base is the field of this resource the join starts from: the foreign
	// key for belongs-to, the primary key otherwise.
	Base *Field
	// JoinColumn is the column of the related table the join ends at (of
	// the m2m table for many-to-many), as a quoted identifier.
	JoinColumn schema.Safe
	// JoinIndex is the reflect index path of that column's field in the
	// related struct (nil for many-to-many, whose column is in the m2m
	// table).
	JoinIndex []int
	// M2M describes the junction table of a many-to-many relation.
	M2M *M2M
	// Cascade, when set, describes the related model, whose live rows are
	// soft-deleted with this resource's row and restored with it.
	Cascade *Resource
}

// M2M is the junction table of a many-to-many relation.
type M2M struct {
	// Table is the quoted junction table name.
	Table schema.Safe
	// RelatedColumn is its column referring to the related table.
	RelatedColumn schema.Safe
	// RelatedPK is the related table's key column that column refers to.
	RelatedPK schema.Safe
}

// RelationByName returns the relation with the given JSON name.
func (r *Resource) RelationByName(name string) (*Relation, bool) {
	for i := range r.Relations {
		if r.Relations[i].Name == name {
			return &r.Relations[i], true
		}
	}
	return nil, false
}

// SoftDeletable reports whether the resource has soft deletes.
func (r *Resource) SoftDeletable() bool { return r.SoftDelete != nil }

// FieldByJSON returns the field with the given JSON name, hidden fields
// (json:"-") excluded.
func (r *Resource) FieldByJSON(name string) (*Field, bool) {
	f, ok := r.byJSON[name]
	return f, ok
}

// Exposed lists the fields a response may contain, in struct order: every
// field not tagged json:"-", and the soft-delete column only when
// withDeleted is true (the caller may read deleted rows).
func (r *Resource) Exposed(withDeleted bool) []*Field {
	if withDeleted {
		return r.exposed[1]
	}
	return r.exposed[0]
}

// Lookup returns the field with the given JSON name as the caller may use
// it: hidden fields never, the soft-delete column only with withDeleted.
func (r *Resource) Lookup(name string, withDeleted bool) (*Field, bool) {
	f, ok := r.byJSON[name]
	if !ok || (r.IsDeletionField(f) && !withDeleted) {
		return nil, false
	}
	return f, true
}

// IsDeletionField reports whether f is part of a row's deletion record
// (a column of the soft-delete strategy), which only callers allowed to
// read deleted rows may see.
func (r *Resource) IsDeletionField(f *Field) bool {
	s := r.SoftDelete
	return f != nil && s != nil && (f == s.At || f == s.Flag || f == s.By)
}

// New returns a pointer to a new zero value of the model.
func (r *Resource) New() reflect.Value { return reflect.New(r.Type) }

// NewSlice returns a pointer to a new empty slice of the model.
func (r *Resource) NewSlice() reflect.Value {
	return reflect.New(reflect.SliceOf(r.Type))
}

func (r *Resource) errorf(f *Field, format string, args ...any) error {
	if f == nil {
		return fmt.Errorf("introspect: model %s: "+format, append([]any{r.ModelName}, args...)...)
	}
	return fmt.Errorf("introspect: model %s, field %s: "+format, append([]any{r.ModelName, f.GoName}, args...)...)
}
