package introspect

import (
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode"

	"github.com/uptrace/bun/schema"
)

// TableSource is what Build needs from bun: its cached schema for a type.
// *bun.DB satisfies it.
type TableSource interface {
	Table(reflect.Type) *schema.Table
}

// Options adjusts how a model becomes a resource.
type Options struct {
	// Name overrides the resource name; the default is bun's table name.
	Name string
	// Cascade names has-many or has-one relations (JSON or Go name) whose
	// rows follow this resource's soft deletes and restores, as the
	// autoapi:"cascade" tag on the relation field does.
	Cascade []string
	// Owner names the column (JSON or Go name) holding the id of the
	// principal who owns a row, as the autoapi:"owner" tag does.
	Owner string
	// RequireIfMatch makes single-record writes without If-Match a 428.
	RequireIfMatch bool
}

// Names that mark a column by convention. Matching is exact: these are the
// spellings the framework documents, nothing fuzzier.
var (
	softDeleteGoNames = []string{"DeletedAt", "DeletedDate"}
	softDeleteNames   = []string{"deletedAt", "deleted_at", "deletedDate"}
	deletedFlagGoName = []string{"IsDeleted"}
	deletedFlagNames  = []string{"isDeleted", "is_deleted"}
	createdGoNames    = []string{"CreatedAt", "CreatedOn", "CreatedDate"}
	createdNames      = []string{"createdAt", "created_at", "createdOn", "created_on", "createdDate", "created_date"}
	updatedGoNames    = []string{"UpdatedAt", "UpdatedOn", "UpdatedDate", "ModifiedAt"}
	deletedByGoNames  = []string{"DeletedBy"}
	deletedByNames    = []string{"deletedBy", "deleted_by"}
	updatedNames      = []string{"updatedAt", "updated_at", "updatedOn", "updated_on", "updatedDate", "updated_date", "modifiedAt", "modified_at"}
)

var resourceNameRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// Build describes model (a struct or a pointer to one) using bun's schema
// for it. It returns an error naming the model and field for every
// convention the model breaks; it never panics on a bad model.
func Build(src TableSource, model any, opts Options) (res *Resource, err error) {
	return build(src, model, opts, map[reflect.Type]bool{})
}

// build is Build with the types whose cascades are being described, to
// refuse a cascade cycle instead of recursing forever.
func build(src TableSource, model any, opts Options, visiting map[reflect.Type]bool) (res *Resource, err error) {
	typ := reflect.TypeOf(model)
	for typ != nil && typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if typ == nil || typ.Kind() != reflect.Struct {
		return nil, fmt.Errorf("introspect: model must be a struct, got %T", model)
	}

	// bun panics on some malformed tags (for example an unresolvable rel);
	// turn that into a start-up error instead of a crash.
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("introspect: model %s: bun rejected the model: %v", typ.Name(), p)
		}
	}()
	table := src.Table(typ)

	res = &Resource{
		Name:           opts.Name,
		RequireIfMatch: opts.RequireIfMatch,
		ModelName:      typ.Name(),
		Type:           typ,
		Table:          table,
		byJSON:         make(map[string]*Field),
	}
	if res.Name == "" {
		res.Name = table.Name
	}
	if !resourceNameRE.MatchString(res.Name) {
		return nil, res.errorf(nil, "resource name %q must be lower case letters, digits, '_' or '-'", res.Name)
	}
	// bun quotes an alias with a dot as a qualified name, which no
	// statement parses; it derives one from a generic type's name when
	// a type argument is of another package (Page[*time.Time]).
	if strings.Contains(table.Alias, ".") {
		return nil, res.errorf(nil, "bun's table alias %q has a '.', which SQL reads as a qualified name; name one with bun:\"alias:...\" on bun.BaseModel", table.Alias)
	}

	switch len(table.PKs) {
	case 0:
		return nil, res.errorf(nil, "no primary key; tag one field with bun:\",pk\"")
	case 1:
	default:
		names := make([]string, len(table.PKs))
		for i, pk := range table.PKs {
			names[i] = pk.GoName
		}
		return nil, res.errorf(nil, "composite primary key (%s) is not supported; use a single-column key", strings.Join(names, ", "))
	}

	var softCandidates, flagCandidates []*Field
	var deletedBy *Field
	nullZero := map[*Field]bool{}
	columns := map[*Field]*schema.Field{}
	var bunSoftDelete *Field
	for _, bf := range table.Fields {
		f := newField(bf)
		if err := res.parseTag(f, bf.StructField.Tag.Get("autoapi")); err != nil {
			return nil, err
		}
		res.Fields = append(res.Fields, f)
		if !f.Hidden {
			if prev, dup := res.byJSON[f.JSON]; dup {
				return nil, res.errorf(f, "JSON name %q is also used by field %s", f.JSON, prev.GoName)
			}
			res.byJSON[f.JSON] = f
		}

		if bf.IsPK {
			res.PK = f
			f.NullInDB = false // bun's autoincrement implies nullzero; a key is never NULL
			if f.Kind == KindOther || f.Kind == KindTime || f.Kind == KindBool || f.Kind == KindFloat {
				return nil, res.errorf(f, "primary key type %s is not supported; use an integer or a string", f.Type)
			}
			// Integer keys are generated by the database; string keys are
			// chosen by the client.
			f.ReadOnly = f.Kind == KindInt || f.Kind == KindUint
		}
		nullZero[f] = bf.NullZero
		columns[f] = bf
		if bf == table.SoftDeleteField {
			bunSoftDelete = f
		}
		if bf == table.SoftDeleteField || f.matches(softDeleteGoNames, softDeleteNames) {
			softCandidates = append(softCandidates, f)
		}
		if f.matches(deletedFlagGoName, deletedFlagNames) {
			flagCandidates = append(flagCandidates, f)
		}
		if f.matches(deletedByGoNames, deletedByNames) {
			if deletedBy != nil {
				return nil, res.errorf(f, "fields %s and %s both look like the deleted-by column; keep one", deletedBy.GoName, f.GoName)
			}
			deletedBy = f
		}
		if f.matches(createdGoNames, createdNames) {
			if err := res.setTimestamp(&res.CreatedAt, f, "creation"); err != nil {
				return nil, err
			}
		}
		if f.matches(updatedGoNames, updatedNames) {
			if err := res.setTimestamp(&res.UpdatedAt, f, "update"); err != nil {
				return nil, err
			}
		}
	}

	at, unix, flag, err := res.softDeleteColumns(softCandidates, flagCandidates, nullZero, bunSoftDelete)
	if err != nil {
		return nil, err
	}
	if at != nil || flag != nil {
		res.SoftDelete = newSoftDelete(at, unix, flag, deletedBy)
		res.SoftDelete.declareNotNull(columns)
	}

	if opts.Owner != "" {
		f, ok := res.byJSON[opts.Owner]
		if !ok {
			f = res.fieldByGoName(opts.Owner)
		}
		switch {
		case f == nil:
			return nil, res.errorf(nil, "owner: no field %q", opts.Owner)
		case res.Owner != nil && res.Owner != f:
			return nil, res.errorf(f, "the owner is already %s", res.Owner.GoName)
		}
		res.Owner = f
	}
	if f := res.Owner; f != nil {
		if k := f.Kind; k != KindString && k != KindInt && k != KindUint {
			return nil, res.errorf(f, "owner column has unsupported type %s; use a string or an integer", f.Type)
		}
		if f.Hidden || f.IsPK() || res.IsDeletionField(f) {
			return nil, res.errorf(f, "the owner column must be a visible, ordinary column")
		}
	}
	if f := deletedBy; f != nil {
		switch {
		case res.SoftDelete == nil:
			return nil, res.errorf(f, "a deleted-by column needs a soft-delete column next to it")
		case f.Kind != KindString && f.Kind != KindInt && f.Kind != KindUint:
			return nil, res.errorf(f, "deleted-by column has unsupported type %s; use a string or an integer, or a pointer to one", f.Type)
		case !f.Nullable:
			return nil, res.errorf(f, "deleted-by column has type %s, which cannot be NULL for live rows; use a pointer such as *%s", f.Type, f.Type)
		}
		f.ReadOnly = true
		f.NullInDB = true
	}

	for _, f := range res.Fields {
		if f.Hidden {
			continue
		}
		res.exposed[1] = append(res.exposed[1], f)
		if !res.IsDeletionField(f) {
			res.exposed[0] = append(res.exposed[0], f)
		}
	}

	visiting[typ] = true
	defer delete(visiting, typ)
	cascades := map[string]bool{}
	for _, name := range opts.Cascade {
		cascades[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(table.Relations)) {
		br := table.Relations[name]
		tag := br.Field.StructField.Tag.Get("autoapi")
		for _, opt := range strings.Split(tag, ",") {
			if opt = strings.TrimSpace(opt); opt != "" && opt != "cascade" {
				return nil, fmt.Errorf("introspect: model %s, field %s: unknown autoapi tag option %q on a relation (known: cascade)", res.ModelName, br.Field.GoName, opt)
			}
		}
		rel, err := res.relation(br)
		if err != nil {
			return nil, err
		}
		if rel == nil {
			if tag != "" {
				return nil, fmt.Errorf("introspect: model %s, field %s: a hidden (json:\"-\") or polymorphic relation cannot cascade", res.ModelName, br.Field.GoName)
			}
			continue
		}
		if cascades[rel.Name] || cascades[rel.GoName] || tagHas(tag, "cascade") {
			delete(cascades, rel.Name)
			delete(cascades, rel.GoName)
			if err := res.cascade(src, rel, visiting); err != nil {
				return nil, err
			}
		}
		res.Relations = append(res.Relations, *rel)
	}
	for name := range cascades {
		return nil, res.errorf(nil, "cascade: no relation %q", name)
	}
	if sd := res.SoftDelete; sd != nil && sd.At == nil {
		for _, rel := range res.Relations {
			if rel.Cascade != nil {
				return nil, fmt.Errorf("introspect: model %s, field %s: %s records deletions with the flag %s alone, so a restore could not tell the rows a cascade deleted from rows deleted on their own; add a deletion timestamp beside it",
					res.ModelName, rel.GoName, res.ModelName, sd.Flag.GoName)
			}
		}
	}
	return res, nil
}

// softDeleteColumns decides the soft-delete strategy's columns from the
// fields that look like a deletion time and those that look like a
// deletion flag, refusing an ambiguous model or an unsupported type.
func (r *Resource) softDeleteColumns(times, flags []*Field, nullZero map[*Field]bool, bunTag *Field) (at *Field, unix bool, flag *Field, err error) {
	if len(times) > 1 {
		return nil, false, nil, r.errorf(nil, "fields %s and %s both look like the soft-delete column; keep one, or rename the other",
			times[0].GoName, times[1].GoName)
	}
	if len(flags) > 1 {
		return nil, false, nil, r.errorf(nil, "fields %s and %s both look like the is_deleted flag; keep one, or rename the other",
			flags[0].GoName, flags[1].GoName)
	}
	if len(times) == 1 {
		at = times[0]
		switch {
		case at.IsPK():
			return nil, false, nil, r.errorf(at, "the primary key cannot be the soft-delete column")
		case at.Time != NotTime:
			at.NullInDB = true
			at.Codec = CodecTimestamp
		case (at.Kind == KindInt || at.Kind == KindUint) && at.Type.Kind() != reflect.Pointer:
			// Unix seconds, 0 while live, as gorm.io/plugin/soft_delete
			// stores them.
			unix = true
			switch {
			case at == bunTag:
				return nil, false, nil, r.errorf(at, "bun's soft_delete tag on an integer column stores Unix nanoseconds, and the framework stores Unix seconds there; remove the tag")
			case nullZero[at]:
				return nil, false, nil, r.errorf(at, "a Unix-time soft-delete column holds 0 while the row is live, which bun's nullzero would store as NULL; remove nullzero")
			}
		default:
			return nil, false, nil, r.errorf(at, "soft-delete column has unsupported type %s; use time.Time, *time.Time, bun.NullTime or sql.NullTime, or int64 for Unix seconds (0 while live)", at.Type)
		}
		at.ReadOnly = true
	}
	if len(flags) == 1 {
		flag = flags[0]
		switch {
		case flag == at:
			return nil, false, nil, r.errorf(flag, "the field looks like both the soft-delete column and the is_deleted flag; rename it")
		case flag.Type.Kind() != reflect.Bool:
			return nil, false, nil, r.errorf(flag, "is_deleted flag has unsupported type %s; use bool", flag.Type)
		case nullZero[flag]:
			return nil, false, nil, r.errorf(flag, "the is_deleted flag is false while the row is live, which bun's nullzero would store as NULL; remove nullzero")
		case flag.IsPK():
			return nil, false, nil, r.errorf(flag, "the primary key cannot be the is_deleted flag")
		}
		flag.ReadOnly = true
	}
	return at, unix, flag, nil
}

// cascade marks rel to follow soft deletes and restores of this resource.
func (r *Resource) cascade(src TableSource, rel *Relation, visiting map[reflect.Type]bool) error {
	if rel.Kind != schema.HasManyRelation && rel.Kind != schema.HasOneRelation {
		return fmt.Errorf("introspect: model %s, field %s: only has-many and has-one relations can cascade", r.ModelName, rel.GoName)
	}
	if !rel.Base.IsPK() {
		return fmt.Errorf("introspect: model %s, field %s: a cascading relation must join on the primary key %s", r.ModelName, rel.GoName, r.PK.GoName)
	}
	if visiting[rel.Related] {
		return fmt.Errorf("introspect: model %s, field %s: cascade cycle back to %s", r.ModelName, rel.GoName, rel.Related.Name())
	}
	child, err := build(src, reflect.New(rel.Related).Interface(), Options{}, visiting)
	if err != nil {
		return err
	}
	if !child.SoftDeletable() {
		return fmt.Errorf("introspect: model %s, field %s: cascade target %s has no soft-delete column", r.ModelName, rel.GoName, child.ModelName)
	}
	if child.SoftDelete.At == nil {
		return fmt.Errorf("introspect: model %s, field %s: cascade target %s records deletions with the flag %s alone, so a restore could not tell the rows the cascade deleted from rows deleted on their own; add a deletion timestamp beside it",
			r.ModelName, rel.GoName, child.ModelName, child.SoftDelete.Flag.GoName)
	}
	rel.Cascade = child
	return nil
}

// tagHas reports whether a comma-separated tag holds option.
func tagHas(tag, option string) bool {
	for _, opt := range strings.Split(tag, ",") {
		if strings.TrimSpace(opt) == option {
			return true
		}
	}
	return false
}

// relation describes a bun relation; hidden (json:"-") relations and
// polymorphic ones are left out, multi-column joins are an error.
func (r *Resource) relation(br *schema.Relation) (*Relation, error) {
	name, _ := jsonName(br.Field.StructField)
	if name == "" || br.PolymorphicField != nil {
		return nil, nil
	}
	if len(br.BasePKs) != 1 || len(br.JoinPKs) != 1 {
		return nil, fmt.Errorf("introspect: model %s, field %s: relations must join on a single column", r.ModelName, br.Field.GoName)
	}
	rel := &Relation{
		Name:       name,
		GoName:     br.Field.GoName,
		Index:      br.Field.Index,
		Kind:       br.Type,
		Many:       br.Type == schema.HasManyRelation || br.Type == schema.ManyToManyRelation,
		Related:    br.JoinTable.Type,
		Table:      br.JoinTable.Name,
		JoinColumn: br.JoinPKs[0].SQLName,
		JoinIndex:  br.JoinPKs[0].Index,
	}
	for _, f := range r.Fields {
		if f.Column == br.BasePKs[0].Name {
			rel.Base = f
		}
	}
	if br.Type == schema.ManyToManyRelation {
		if len(br.M2MBasePKs) != 1 || len(br.M2MJoinPKs) != 1 {
			return nil, fmt.Errorf("introspect: model %s, field %s: many-to-many relations must join on a single column", r.ModelName, br.Field.GoName)
		}
		rel.JoinColumn = br.M2MBasePKs[0].SQLName
		rel.JoinIndex = nil
		rel.M2M = &M2M{Table: br.M2MTable.SQLName, RelatedColumn: br.M2MJoinPKs[0].SQLName, RelatedPK: br.JoinPKs[0].SQLName}
	}
	if rel.Base == nil {
		return nil, fmt.Errorf("introspect: model %s, field %s: relation joins on unknown column %s", r.ModelName, br.Field.GoName, br.BasePKs[0].Name)
	}
	return rel, nil
}

// parseTag reads the framework's own autoapi:"..." tag: "unique" makes the
// field unique (among live rows on a soft-deletable model), "unique:group"
// makes it unique together with the other fields of that group, "owner"
// names the row's owner, "search" marks a text field searched with
// contains.
func (r *Resource) parseTag(f *Field, tag string) error {
	if tag == "" {
		return nil
	}
	for _, opt := range strings.Split(tag, ",") {
		name, arg, _ := strings.Cut(strings.TrimSpace(opt), ":")
		switch name {
		case "unique":
			f.Unique = arg
			if arg == "" {
				f.Unique = f.Column
			}
			i := slices.IndexFunc(r.Unique, func(g UniqueGroup) bool { return g.Name == f.Unique })
			if i < 0 {
				r.Unique = append(r.Unique, UniqueGroup{Name: f.Unique})
				i = len(r.Unique) - 1
			}
			r.Unique[i].Fields = append(r.Unique[i].Fields, f)
		case "owner":
			if r.Owner != nil {
				return r.errorf(f, "fields %s and %s are both tagged as the owner; keep one", r.Owner.GoName, f.GoName)
			}
			r.Owner = f
		case "search":
			if f.Kind != KindString {
				return r.errorf(f, "autoapi:\"search\" needs a string field, not %s", f.Type)
			}
			f.Search = true
		default:
			return r.errorf(f, "unknown autoapi tag option %q (known: unique, unique:<group>, owner, search)", name)
		}
	}
	return nil
}

func (r *Resource) fieldByGoName(name string) *Field {
	for _, f := range r.Fields {
		if f.GoName == name {
			return f
		}
	}
	return nil
}

func (r *Resource) setTimestamp(slot **Field, f *Field, what string) error {
	if *slot != nil {
		return r.errorf(f, "fields %s and %s both look like the %s timestamp; keep one", (*slot).GoName, f.GoName, what)
	}
	if f.Time == NotTime {
		return r.errorf(f, "%s timestamp has unsupported type %s; use time.Time, *time.Time, bun.NullTime or sql.NullTime", what, f.Type)
	}
	f.ReadOnly = true
	f.Codec = CodecTimestamp
	*slot = f
	return nil
}

// IsPK reports whether the field is its resource's primary key.
func (f *Field) IsPK() bool { return f.pk }

func newField(bf *schema.Field) *Field {
	name, opts := jsonName(bf.StructField)
	f := &Field{
		GoName:   bf.GoName,
		JSON:     name,
		Column:   bf.Name,
		Ident:    bf.SQLName,
		Kind:     kindOf(bf.StructField.Type),
		Time:     timeShapeOf(bf.StructField.Type),
		Nullable: nullable(bf.StructField.Type),
		NullInDB: nullable(bf.StructField.Type) || bf.NullZero,
		Hidden:   name == "",
		Validate: bf.StructField.Tag.Get("validate"),
		Index:    bf.Index,
		Type:     bf.StructField.Type,
		pk:       bf.IsPK,
	}
	f.setJSON(bf.StructField.Type, opts)
	if !f.Hidden {
		f.jsonKey = encodeKey(name)
	}
	return f
}

// jsonName applies encoding/json's naming rule: the tag's name, else the Go
// name; "" when the field is hidden with json:"-".
func jsonName(sf reflect.StructField) (name, opts string) {
	tag, ok := sf.Tag.Lookup("json")
	if !ok {
		return sf.Name, ""
	}
	if tag == "-" {
		return "", ""
	}
	name, opts, _ = strings.Cut(tag, ",")
	if !validJSONName(name) {
		// encoding/json, too, falls back to the Go name for an empty
		// name or one it does not accept.
		name = sf.Name
	}
	return name, opts
}

// validJSONName is encoding/json's rule for a json tag name: letters,
// digits and punctuation other than backslash and quotes.
func validJSONName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

func (f *Field) matches(goNames, names []string) bool {
	for _, n := range goNames {
		if f.GoName == n {
			return true
		}
	}
	for _, n := range names {
		if f.Column == n || (f.JSON == n && !f.Hidden) {
			return true
		}
	}
	return false
}
