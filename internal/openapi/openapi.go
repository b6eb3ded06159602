// Package openapi builds the OpenAPI 3.1 document of an API from its
// operation table, for one reader: operations the reader may not perform,
// and the soft-delete fields and parameters of resources whose deleted rows
// the reader may not see, are left out.
package openapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/handlers"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// Version is the OpenAPI version of the documents.
const Version = "3.1.0"

// API is what a document describes.
type API struct {
	Title, Version, Description string
	// License is the SPDX identifier of the API's license, "" for none.
	License string
	// Prefix is the path every route starts with, e.g. "/api".
	Prefix string
	// Specs are the operations, API-wide and of every resource.
	Specs []*handlers.Spec
	// Resources are the registered resources, in registration order.
	Resources []*introspect.Resource
	// Related maps a model type to its resource, for includes.
	Related map[reflect.Type]*introspect.Resource
}

// Reader answers what the reader of a document may do: how far its grant
// of action on resource reaches, "all" rows, "own" rows only, or "" for
// none. A nil Reader holds everything: the full document.
type Reader func(resource, action string) string

// Security scheme names.
const (
	schemeBearer = "bearerAuth"
	schemeJWT    = "jwt"
)

// builder builds one document.
type builder struct {
	api    *API
	read   Reader
	doc    *openapi3.T
	byName map[string]*introspect.Resource
}

// Build returns the document of api as seen by can, and the document as
// JSON.
func Build(api *API, can Reader) (*openapi3.T, []byte, error) {
	if can == nil {
		can = func(string, string) string { return "all" }
	}
	b := &builder{api: api, read: can, byName: map[string]*introspect.Resource{}}
	for _, r := range api.Resources {
		b.byName[r.Name] = r
	}
	b.doc = &openapi3.T{
		OpenAPI: Version,
		Info:    &openapi3.Info{Title: api.Title, Version: api.Version, Description: api.Description},
		// The paths carry the prefix, so the API is at the root of the
		// server that serves the document.
		Servers: openapi3.Servers{{URL: "/", Description: "The server that serves this document"}},
		Paths:   openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas:   openapi3.Schemas{},
			Responses: openapi3.ResponseBodies{},
			SecuritySchemes: openapi3.SecuritySchemes{
				schemeBearer: {Value: &openapi3.SecurityScheme{Type: "http", Scheme: "bearer", Description: "A bearer token the API's authenticator accepts."}},
				schemeJWT:    {Value: &openapi3.SecurityScheme{Type: "http", Scheme: "bearer", BearerFormat: "JWT", Description: "A signed JSON Web Token."}},
			},
		},
	}
	if api.License != "" {
		b.doc.Info.License = &openapi3.License{Name: api.License, Identifier: api.License}
	}
	if err := b.envelopes(); err != nil {
		return nil, nil, err
	}
	for _, r := range api.Resources {
		b.resourceSchemas(r)
	}
	for _, s := range api.Specs {
		if s.Hidden || !b.performs(s) {
			continue
		}
		op, err := b.operation(s)
		if err != nil {
			return nil, nil, err
		}
		b.doc.AddOperation(b.path(s.Path), s.Method, op)
	}
	b.tags()
	text, err := b.prune()
	if err != nil {
		return nil, nil, err
	}
	return b.doc, text, nil
}

// prune drops the components no operation refers to, directly or through
// other components: a reader learns nothing of resources it cannot use,
// not even their fields.
func (b *builder) prune() ([]byte, error) {
	// The document is pruned as a tree of plain values: kin-openapi's
	// types have no walker of their own, their JSON is the one form that
	// shows every $ref, and the tree is written as JSON once, pruned.
	whole, err := tree(b.doc)
	if err != nil {
		return nil, err
	}
	tree, ok := whole.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi: the document is a %T", whole)
	}
	components, _ := tree["components"].(map[string]any)
	treeSchemas, _ := components["schemas"].(map[string]any)
	treeResponses, _ := components["responses"].(map[string]any)
	const schemas, responses = "#/components/schemas/", "#/components/responses/"
	refs := map[string]bool{}
	var walk func(any)
	walk = func(n any) {
		switch n := n.(type) {
		case map[string]any:
			for k, v := range n {
				if r, ok := v.(string); ok && k == "$ref" && !refs[r] {
					refs[r] = true
					switch {
					case strings.HasPrefix(r, schemas):
						walk(treeSchemas[strings.TrimPrefix(r, schemas)])
					case strings.HasPrefix(r, responses):
						walk(treeResponses[strings.TrimPrefix(r, responses)])
					}
				}
				walk(v)
			}
		case []any:
			for _, v := range n {
				walk(v)
			}
		}
	}
	walk(tree["paths"])
	for name := range b.doc.Components.Schemas {
		if !refs[schemas+name] {
			delete(b.doc.Components.Schemas, name)
			delete(treeSchemas, name)
		}
	}
	for name := range b.doc.Components.Responses {
		if !refs[responses+name] {
			delete(b.doc.Components.Responses, name)
			delete(treeResponses, name)
		}
	}
	// As kin-openapi writes components, an empty map is left out.
	if len(treeResponses) == 0 {
		delete(components, "responses")
	}
	if len(treeSchemas) == 0 {
		delete(components, "schemas")
	}
	return json.Marshal(tree)
}

// allowed reports whether the reader holds action on res ("" needs none).
func (b *builder) allowed(res *introspect.Resource, action string) bool {
	if action == "" {
		return true
	}
	if res == nil {
		return false
	}
	return b.can(res.Name, action)
}

// scope is how far the reader's grant of action on resource reaches:
// "all", "own" or "".
func (b *builder) scope(resource, action string) string { return b.read(resource, action) }

// can reports whether the reader holds action on resource, on any rows.
func (b *builder) can(resource, action string) bool { return b.read(resource, action) != "" }

// performs reports whether the reader may perform s: it holds the action
// s needs, or the other one that also allows it. An operation of a
// resource that needs no action (what the caller may do on it) is for
// readers who hold some action on the resource, so that a document names
// no resource its reader cannot use.
func (b *builder) performs(s *handlers.Spec) bool {
	if s.Op == handlers.OpPurge {
		for _, r := range b.api.Resources {
			if handlers.Purgeable(r, func(action string) bool { return b.scope(r.Name, action) == "all" }) {
				return true
			}
		}
		return false
	}
	if s.Resource != nil && s.Action == "" {
		for _, a := range handlers.ActionsOf(s.Resource) {
			if b.can(s.Resource.Name, a) {
				return true
			}
		}
		return false
	}
	return b.allowed(s.Resource, s.Action) || s.OrAction != "" && b.allowed(s.Resource, s.OrAction)
}

// seesDeleted reports whether the reader may see res's deleted rows, and
// so its deletion fields.
func (b *builder) seesDeleted(res *introspect.Resource) bool {
	return res.SoftDeletable() && b.can(res.Name, auth.ActionReadDeleted)
}

// path turns an Echo path into an OpenAPI one: "/posts/:id" is
// "/api/posts/{id}".
func (b *builder) path(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, ":") {
			parts[i] = "{" + part[1:] + "}"
		}
	}
	return b.api.Prefix + strings.Join(parts, "/")
}

func ref(name string) *openapi3.SchemaRef {
	return openapi3.NewSchemaRef("#/components/schemas/"+name, nil)
}

// Schema names of the envelopes.
const (
	schemaProblem     = "Problem"
	schemaListMeta    = "ListMeta"
	schemaBulkDelete  = "BulkDeleteResult"
	schemaBulkRestore = "BulkRestoreResult"
	schemaScopes      = "Scopes"
	schemaDryRun      = "DryRunResult"
	schemaPurge       = "PurgeResult"
	// The batch's schemas are written out here rather than generated:
	// their id, body and answer are JSON of several shapes, which a Go
	// type cannot say.
	schemaBatchRequest   = "BatchRequest"
	schemaBatchOperation = "BatchOperation"
	schemaBatchResult    = "BatchResult"
)

// envelopes adds the schemas of the response envelopes, generated from
// their Go types so that the handlers' definition is the only one.
func (b *builder) envelopes() error {
	for name, v := range map[string]any{
		schemaProblem:     handlers.Problem{},
		schemaListMeta:    handlers.ListMeta{},
		schemaBulkDelete:  handlers.BulkDeleteResult{},
		schemaBulkRestore: handlers.BulkRestoreResult{},
		schemaDryRun:      handlers.DryRunResult{},
		schemaPurge:       handlers.PurgeResult{},
	} {
		s, err := b.schemaOf(v)
		if err != nil {
			return fmt.Errorf("openapi: schema of %T: %w", v, err)
		}
		b.doc.Components.Schemas[name] = s
	}
	str := func(desc string) *openapi3.SchemaRef {
		return &openapi3.SchemaRef{Value: &openapi3.Schema{Type: types("string", false), Description: desc}}
	}
	closed := func(desc string, props openapi3.Schemas, required ...string) *openapi3.SchemaRef {
		return &openapi3.SchemaRef{Value: &openapi3.Schema{
			Type: types("object", false), Description: desc, Properties: props, Required: required,
			AdditionalProperties: openapi3.AdditionalProperties{Has: new(bool)},
		}}
	}
	// The operations and members a reader may use: restore and permanent
	// delete only for a reader who may do them somewhere.
	holds := func(action string) bool {
		for _, r := range b.api.Resources {
			if b.can(r.Name, action) && (action != auth.ActionRestore || r.SoftDeletable()) {
				return true
			}
		}
		return false
	}
	opNames := []any{"create", "update", "delete"}
	if holds(auth.ActionRestore) {
		opNames = append(opNames, "restore")
	}
	refValue := closed("The key of the record an earlier create of the batch named.", openapi3.Schemas{"ref": str("")}, "ref")
	b.doc.Components.Schemas[schemaBatchRequest] = closed("Operations run in order, in one transaction.", openapi3.Schemas{
		"operations": {Value: &openapi3.Schema{Type: types("array", false), MinItems: 1, Items: ref(schemaBatchOperation)}},
	}, "operations")
	b.doc.Components.Schemas[schemaBatchOperation] = closed("One write, as the request of the same operation alone would make it.", openapi3.Schemas{
		"op":       {Value: &openapi3.Schema{Type: types("string", false), Enum: opNames}},
		"resource": str("The resource's name, as in its path."),
		"id": {Value: &openapi3.Schema{Description: "The record's key (not for create), or {\"ref\": name}.", AnyOf: openapi3.SchemaRefs{
			{Value: &openapi3.Schema{Type: types("string", false)}}, {Value: &openapi3.Schema{Type: types("integer", false)}}, refValue,
		}}},
		"body":    {Value: &openapi3.Schema{Type: types("object", false), Description: "The record of a create, the fields of an update; a value {\"ref\": name} is the key of the record that create made."}},
		"ifMatch": str("The operation's If-Match."),
		"ref":     str("Names the record this create makes, for later operations."),
	}, "op", "resource")
	if holds(auth.ActionHardDelete) {
		b.doc.Components.Schemas[schemaBatchOperation].Value.Properties["permanent"] = &openapi3.SchemaRef{Value: &openapi3.Schema{
			Type: types("boolean", false), Description: "A permanent delete (needs hard_delete).",
		}}
	}
	b.doc.Components.Schemas[schemaBatchResult] = closed("What one operation answered.", openapi3.Schemas{
		"status":   {Value: &openapi3.Schema{Type: types("integer", false)}},
		"body":     {Value: &openapi3.Schema{Description: "The operation's answer, as alone."}},
		"etag":     str("The record's ETag, where the operation gives one."),
		"location": str("The new record's URL, for a create."),
	}, "status", "body")
	b.doc.Components.Schemas[schemaScopes] = &openapi3.SchemaRef{Value: &openapi3.Schema{
		Type:        types("object", false),
		Description: "The actions the caller may do, each with how far it reaches: all rows, or its own.",
		AdditionalProperties: openapi3.AdditionalProperties{Schema: &openapi3.SchemaRef{Value: &openapi3.Schema{
			Type: types("string", false), Enum: []any{"all", "own"},
		}}},
	}}
	return nil
}

// schemaOf generates the schema of a Go value's type: its JSON names, its
// omitempty fields optional and every other field required, pointers
// nullable as a 3.1 type array.
func (b *builder) schemaOf(v any) (*openapi3.SchemaRef, error) {
	s, err := openapi3gen.NewSchemaRefForValue(v, nil, openapi3gen.SchemaCustomizer(func(name string, t reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
		if s.Nullable {
			// openapi3gen speaks 3.0.
			s.Nullable = false
			if s.Type != nil && s.Type.IsSingle() {
				s.Type = types((*s.Type)[0], true)
			}
		}
		if t.Kind() == reflect.Struct && len(s.Properties) > 0 {
			s.Required = nil
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				jname, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
				if jname == "-" || !f.IsExported() {
					continue
				}
				if jname == "" {
					jname = f.Name
				}
				if !strings.Contains(opts, "omitempty") && !strings.Contains(opts, "omitzero") {
					s.Required = append(s.Required, jname)
				}
			}
			s.AdditionalProperties = openapi3.AdditionalProperties{Has: new(bool)}
		}
		return nil
	}))
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Schema names of a resource: its records, create bodies and patches.
func recordName(r *introspect.Resource) string  { return schemaName(r.ModelName) }
func createName(r *introspect.Resource) string  { return schemaName(r.ModelName) + "Create" }
func updateName(r *introspect.Resource) string  { return schemaName(r.ModelName) + "Update" }
func replaceName(r *introspect.Resource) string { return schemaName(r.ModelName) + "Replace" }

// schemaName is a model's Go name as a component name, which OpenAPI
// limits to letters, digits, '.', '_' and '-': the brackets, separators
// and package paths of a generic type's arguments each become one '_'
// ("Page[int64]" is "Page_int64", "Box[*time.Time]" is "Box_time.Time").
func schemaName(model string) string {
	var b strings.Builder
	replaced := false
	for _, r := range model {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
			replaced = false
		case !replaced:
			b.WriteByte('_')
			replaced = true
		}
	}
	if replaced {
		return strings.TrimSuffix(b.String(), "_")
	}
	return b.String()
}

// resourceSchemas adds the record, create and update schemas of r.
func (b *builder) resourceSchemas(r *introspect.Resource) {
	withDeleted := b.seesDeleted(r)
	record := &openapi3.Schema{Type: types("object", false), Properties: openapi3.Schemas{}, AdditionalProperties: openapi3.AdditionalProperties{Has: new(bool)}}
	create := &openapi3.Schema{Type: types("object", false), Properties: openapi3.Schemas{}, AdditionalProperties: openapi3.AdditionalProperties{Has: new(bool)}}
	update := &openapi3.Schema{Type: types("object", false), Properties: openapi3.Schemas{}, AdditionalProperties: openapi3.AdditionalProperties{Has: new(bool)}}
	for _, f := range r.Exposed(withDeleted) {
		s := fieldSchema(f)
		required := constrain(s, f)
		out := *s
		// Keys, timestamps, the owner and the deletion fields are the
		// server's to set.
		out.ReadOnly = f.ReadOnly || f == r.Owner || f == r.PK
		// x-autoapi-deletion names the part a deletion field plays, so
		// that a client (the admin page) tells deleted rows from live
		// ones without knowing the model's convention.
		deletion := func(role string) map[string]any { return map[string]any{"x-autoapi-deletion": role} }
		switch sd := r.SoftDelete; {
		case sd == nil:
		case f == sd.At && sd.Unix:
			out.Description = "When the record was soft-deleted, in Unix seconds; 0 while it is live."
			out.Extensions = deletion("at")
		case f == sd.At:
			out.Description = "When the record was soft-deleted; null while it is live."
			out.Extensions = deletion("at")
		case f == sd.Flag:
			out.Description = "Whether the record is soft-deleted; false while it is live."
			out.Extensions = deletion("flag")
		case f == sd.By:
			out.Description = "Who soft-deleted the record; null while it is live."
			out.Extensions = deletion("by")
		case f == r.Owner:
			out.Description = "The id of the record's owner, set from the caller when a create leaves it out."
		}
		if f == r.PK {
			// The key names a record in the item paths ({id}).
			out.Extensions = map[string]any{"x-autoapi-key": true}
		}
		record.Properties[f.JSON] = &openapi3.SchemaRef{Value: &out}
		if f.ReadOnly && !(f == r.PK) {
			continue
		}
		in := *s
		if f == r.PK {
			if f.ReadOnly {
				continue // generated by the database
			}
			// A client-chosen key: required, and only on create.
			in.Description = "The record's key, chosen by the client."
			create.Properties[f.JSON] = &openapi3.SchemaRef{Value: &in}
			create.Required = append(create.Required, f.JSON)
			continue
		}
		if f == r.Owner {
			in.Description = out.Description
		}
		create.Properties[f.JSON] = &openapi3.SchemaRef{Value: &in}
		if required && f != r.Owner {
			create.Required = append(create.Required, f.JSON)
		}
		patch := in
		update.Properties[f.JSON] = &openapi3.SchemaRef{Value: &patch}
	}
	for _, rel := range r.Relations {
		related, ok := b.api.Related[rel.Related]
		if !ok || !b.can(related.Name, auth.ActionRead) {
			continue
		}
		s := &openapi3.Schema{Description: "The related " + related.Name + ", present when ?include= names " + rel.Name + "."}
		if rel.Many {
			s.Type = types("array", false)
			s.Items = ref(recordName(related))
		} else {
			s.AnyOf = openapi3.SchemaRefs{ref(recordName(related)), {Value: &openapi3.Schema{Type: types("null", false)}}}
		}
		record.Properties[rel.Name] = &openapi3.SchemaRef{Value: s}
	}
	sortStrings(create.Required)
	schemas := b.doc.Components.Schemas
	schemas[recordName(r)] = &openapi3.SchemaRef{Value: record}
	schemas[createName(r)] = &openapi3.SchemaRef{Value: create}
	schemas[updateName(r)] = &openapi3.SchemaRef{Value: update}
	if !r.PK.ReadOnly {
		// A PUT's body: a create's, whose key the path gives.
		replace := *create
		replace.Required = slices.DeleteFunc(slices.Clone(create.Required), func(n string) bool { return n == r.PK.JSON })
		schemas[replaceName(r)] = &openapi3.SchemaRef{Value: &replace}
	}
}

func sortStrings(s []string) { sort.Strings(s) }

// operation describes one Spec.
func (b *builder) operation(s *handlers.Spec) (*openapi3.Operation, error) {
	op := &openapi3.Operation{
		OperationID: s.ID,
		Summary:     s.Summary,
		Description: b.describe(s),
		Responses:   openapi3.NewResponses(),
		Extensions:  map[string]any{},
	}
	switch {
	case s.Resource != nil:
		op.Tags = []string{s.Resource.Name}
	case s.Op == handlers.OpAllPermissions:
		// Tools group operations by tag; an untagged one lands in a
		// group of their own making.
		op.Tags = []string{tagPermissions}
	case s.Op == handlers.OpPurge:
		op.Tags = []string{tagPurge}
	case s.Op == handlers.OpBatch:
		op.Tags = []string{tagBatch}
	}
	if s.Action != "" {
		op.Extensions["x-autoapi-action"] = s.Action
	}
	if s.OrAction != "" && b.allowed(s.Resource, s.OrAction) {
		op.Extensions["x-autoapi-or-action"] = s.OrAction
	}
	if s.Overridden {
		op.Extensions["x-autoapi-overridden"] = true
		// What the generated handler would do says nothing of what
		// the override does.
		op.Description = "Served by an override of the generated handler."
	}
	op.Security = &openapi3.SecurityRequirements{{schemeBearer: {}}, {schemeJWT: {}}, {}}
	for _, p := range s.Params {
		if p.Requires != "" && !b.allowed(s.Resource, p.Requires) {
			continue
		}
		if p.Field != nil && s.Resource != nil && s.Resource.IsDeletionField(p.Field) && !b.seesDeleted(s.Resource) {
			continue
		}
		op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: b.parameter(s, p)})
	}
	if s.Body == handlers.BodyBatch {
		op.RequestBody = &openapi3.RequestBodyRef{Value: &openapi3.RequestBody{
			Required: true,
			Content:  openapi3.NewContentWithJSONSchemaRef(ref(schemaBatchRequest)),
		}}
	} else if s.Body != handlers.BodyNone {
		name := createName(s.Resource)
		switch s.Body {
		case handlers.BodyUpdate:
			name = updateName(s.Resource)
		case handlers.BodyReplace:
			name = replaceName(s.Resource)
		}
		content := openapi3.NewContentWithJSONSchemaRef(ref(name))
		if s.Body == handlers.BodyUpdate {
			// The same object, read as an RFC 7396 merge patch.
			content[handlers.MergePatchContentType] = openapi3.NewMediaType().WithSchemaRef(ref(name))
		}
		op.RequestBody = &openapi3.RequestBodyRef{Value: &openapi3.RequestBody{
			Required: true,
			Content:  content,
		}}
	}
	// Responses of one status with several bodies are alternatives.
	byStatus := map[int][]*openapi3.SchemaRef{}
	var statuses []int
	for _, r := range s.Responses {
		if r.Requires != "" && !b.allowed(s.Resource, r.Requires) {
			continue
		}
		if _, ok := byStatus[r.Status]; !ok {
			statuses = append(statuses, r.Status)
		}
		if r.Envelope == 0 {
			byStatus[r.Status] = nil // no body: a 304
			continue
		}
		byStatus[r.Status] = append(byStatus[r.Status], b.envelope(s, r.Envelope))
	}
	for status, v := range s.Schemas {
		declared, err := b.schemaOf(v)
		if err != nil {
			return nil, fmt.Errorf("openapi: %s: response %d: %w", s.ID, status, err)
		}
		if _, ok := byStatus[status]; !ok {
			statuses = append(statuses, status)
		}
		byStatus[status] = []*openapi3.SchemaRef{declared}
	}
	sort.Ints(statuses)
	for _, status := range statuses {
		refs := byStatus[status]
		if len(refs) == 0 {
			desc := http.StatusText(status)
			op.Responses.Set(strconv.Itoa(status), &openapi3.ResponseRef{Value: &openapi3.Response{Description: &desc}})
			continue
		}
		if len(refs) == 1 && refs[0].Ref == "#/components/schemas/"+schemaProblem {
			op.Responses.Set(strconv.Itoa(status), b.problemResponse(status))
			continue
		}
		schema := refs[0]
		if len(refs) > 1 {
			schema = &openapi3.SchemaRef{Value: &openapi3.Schema{OneOf: refs}}
		}
		desc := http.StatusText(status)
		resp := &openapi3.Response{Description: &desc, Content: openapi3.NewContentWithJSONSchemaRef(schema)}
		if _, ok := s.Schemas[status]; ok {
			// The override's own answer, as it declared it.
			resp.Extensions = map[string]any{"x-autoapi-declared": true}
		}
		op.Responses.Set(strconv.Itoa(status), &openapi3.ResponseRef{Value: resp})
	}
	return op, nil
}

// problemResponse refers to the shared problem+json response of status.
func (b *builder) problemResponse(status int) *openapi3.ResponseRef {
	name := "Problem" + strconv.Itoa(status)
	if _, ok := b.doc.Components.Responses[name]; !ok {
		desc := http.StatusText(status) + ": an RFC 9457 problem."
		b.doc.Components.Responses[name] = &openapi3.ResponseRef{Value: &openapi3.Response{
			Description: &desc,
			Content:     openapi3.Content{handlers.ProblemContentType: openapi3.NewMediaType().WithSchemaRef(ref(schemaProblem))},
		}}
	}
	return &openapi3.ResponseRef{Ref: "#/components/responses/" + name}
}

// envelope is the schema of one response body of s.
func (b *builder) envelope(s *handlers.Spec, e handlers.Envelope) *openapi3.SchemaRef {
	object := func(props openapi3.Schemas, required ...string) *openapi3.SchemaRef {
		return &openapi3.SchemaRef{Value: &openapi3.Schema{
			Type: types("object", false), Properties: props, Required: required,
			AdditionalProperties: openapi3.AdditionalProperties{Has: new(bool)},
		}}
	}
	const data, meta = handlers.DataMember, handlers.MetaMember
	switch e {
	case handlers.EnvelopeRecord:
		return object(openapi3.Schemas{data: ref(recordName(s.Resource))}, data)
	case handlers.EnvelopeRestored:
		return object(openapi3.Schemas{
			data:                    ref(recordName(s.Resource)),
			handlers.RestoredMember: {Value: &openapi3.Schema{Type: types("boolean", false), Const: true}},
		}, data, handlers.RestoredMember)
	case handlers.EnvelopeList:
		return object(openapi3.Schemas{
			data: {Value: &openapi3.Schema{Type: types("array", false), Items: ref(recordName(s.Resource))}},
			meta: ref(schemaListMeta),
		}, data, meta)
	case handlers.EnvelopeSoftDeleted, handlers.EnvelopeDeleted, handlers.EnvelopeHardDeleted:
		return b.constant(handlers.DeleteResultOf(e))
	case handlers.EnvelopeBulkDeleted:
		return ref(schemaBulkDelete)
	case handlers.EnvelopeBulkRestored:
		return ref(schemaBulkRestore)
	case handlers.EnvelopePermissions:
		return object(openapi3.Schemas{data: ref(schemaScopes)}, data)
	case handlers.EnvelopeAllPermissions:
		return object(openapi3.Schemas{data: {Value: &openapi3.Schema{
			Type:                 types("object", false),
			Description:          "The caller's actions on each resource, by resource name.",
			AdditionalProperties: openapi3.AdditionalProperties{Schema: ref(schemaScopes)},
		}}}, data)
	case handlers.EnvelopeProblem:
		return ref(schemaProblem)
	case handlers.EnvelopeDryRun:
		return object(openapi3.Schemas{data: ref(schemaDryRun)}, data)
	case handlers.EnvelopePurged:
		return object(openapi3.Schemas{data: ref(schemaPurge)}, data)
	case handlers.EnvelopeBatch:
		return object(openapi3.Schemas{data: {Value: &openapi3.Schema{Type: types("array", false), Items: ref(schemaBatchResult)}}}, data)
	}
	panic(fmt.Sprintf("openapi: no schema for envelope %d", e))
}

// constant is the schema of v's type with each member v has fixed to
// v's value: the body of an answer that never varies.
func (b *builder) constant(v any, _ bool) *openapi3.SchemaRef {
	s, err := b.schemaOf(v)
	if err != nil {
		panic(err) // the handlers' own types
	}
	raw, _ := json.Marshal(v)
	var members map[string]any
	_ = json.Unmarshal(raw, &members)
	s.Value.Required = nil
	for name, prop := range s.Value.Properties {
		value, ok := members[name]
		if !ok {
			delete(s.Value.Properties, name)
			continue
		}
		fixed := *prop.Value
		fixed.Const = value
		s.Value.Properties[name] = &openapi3.SchemaRef{Value: &fixed}
		s.Value.Required = append(s.Value.Required, name)
	}
	sort.Strings(s.Value.Required)
	return s
}

// parameter describes one parameter of s.
func (b *builder) parameter(s *handlers.Spec, p handlers.Param) *openapi3.Parameter {
	out := &openapi3.Parameter{Name: p.Name, In: p.In, Required: p.Required, Description: p.Description}
	var schema *openapi3.Schema
	switch p.Type {
	case handlers.ParamString:
		schema = &openapi3.Schema{Type: types("string", false)}
	case handlers.ParamBoolean:
		schema = &openapi3.Schema{Type: types("boolean", false)}
	case handlers.ParamInteger:
		schema = &openapi3.Schema{Type: types("integer", false)}
		lo := float64(p.Min)
		schema.Min = &lo
		if p.Max > 0 {
			hi := float64(p.Max)
			schema.Max = &hi
		}
	case handlers.ParamField:
		schema = valueSchema(p.Field)
	case handlers.ParamList:
		items := &openapi3.Schema{Type: types("string", false)}
		if p.Field != nil {
			items = valueSchema(p.Field)
		}
		enum := p.Enum
		if p.Name == "include" && s.Resource != nil {
			enum = b.includePaths(s.Resource)
		}
		if p.Name == "fields" || p.Name == "sort" {
			enum = b.visibleNames(s.Resource, enum)
		}
		for _, v := range enum {
			items.Enum = append(items.Enum, v)
		}
		schema = &openapi3.Schema{Type: types("array", false), Items: &openapi3.SchemaRef{Value: items}}
		explode := false
		out.Style, out.Explode = openapi3.SerializationForm, &explode
	}
	if p.Default != "" {
		schema.Default = typedDefault(schema, p.Default)
	}
	out.Schema = &openapi3.SchemaRef{Value: schema}
	return out
}

func typedDefault(s *openapi3.Schema, v string) any {
	switch {
	case s.Type.Is("boolean"):
		return v == "true"
	case s.Type.Is("integer"):
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return v
}

// visibleNames drops the deletion fields' names (and their "-name" sort
// keys) from names when the reader may not see them.
func (b *builder) visibleNames(r *introspect.Resource, names []string) []string {
	if b.seesDeleted(r) {
		return names
	}
	hidden := map[string]bool{}
	for _, f := range r.Fields {
		if r.IsDeletionField(f) {
			hidden[f.JSON], hidden["-"+f.JSON] = true, true
		}
	}
	var out []string
	for _, n := range names {
		if !hidden[n] {
			out = append(out, n)
		}
	}
	return out
}

// includePaths lists what ?include= takes on r for the reader: the
// relations to resources it may read, and their relations in turn, to
// the nesting depth the handlers allow.
func (b *builder) includePaths(r *introspect.Resource) []string {
	var out []string
	var walk func(r *introspect.Resource, prefix string, depth int)
	walk = func(r *introspect.Resource, prefix string, depth int) {
		if depth > handlers.MaxIncludeDepth {
			return
		}
		for _, rel := range r.Relations {
			related, ok := b.api.Related[rel.Related]
			if !ok || !b.can(related.Name, auth.ActionRead) {
				continue
			}
			out = append(out, prefix+rel.Name)
			walk(related, prefix+rel.Name+".", depth+1)
		}
	}
	walk(r, "", 1)
	return out
}

// tagPermissions and tagPurge are the tags of the API-wide operations.
const (
	tagPermissions = "permissions"
	tagPurge       = "purge"
	tagBatch       = "batch"
)

// tags lists one tag per resource that has an operation in the document,
// in registration order, then the tag of the API-wide operations.
func (b *builder) tags() {
	used := map[string]bool{}
	for _, item := range b.doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, t := range op.Tags {
				used[t] = true
			}
		}
	}
	for _, r := range b.api.Resources {
		if used[r.Name] {
			b.doc.Tags = append(b.doc.Tags, &openapi3.Tag{Name: r.Name, Description: "Records of " + r.Name + "."})
		}
	}
	// A resource named permissions already has the tag.
	if used[tagPermissions] && b.doc.Tags.Get(tagPermissions) == nil {
		b.doc.Tags = append(b.doc.Tags, &openapi3.Tag{Name: tagPermissions, Description: "What the caller may do, on every resource at once."})
	}
	if used[tagBatch] && b.doc.Tags.Get(tagBatch) == nil {
		b.doc.Tags = append(b.doc.Tags, &openapi3.Tag{Name: tagBatch, Description: "Several writes in one transaction."})
	}
	if used[tagPurge] && b.doc.Tags.Get(tagPurge) == nil {
		b.doc.Tags = append(b.doc.Tags, &openapi3.Tag{Name: tagPurge, Description: "Emptying the trash of old soft-deleted records."})
	}
}
