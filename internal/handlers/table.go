package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// API-wide operations and the framework's own routes, beside the
// resource operations of context.go. They can't be overridden.
const (
	// OpPermissions serves GET /R/permissions.
	OpPermissions Operation = "permissions"
	// OpAllPermissions serves GET /permissions.
	OpAllPermissions Operation = "all_permissions"
	// OpOpenAPI serves the OpenAPI document, GET /openapi.json and
	// /openapi.yaml.
	OpOpenAPI Operation = "openapi"
	// OpDocs serves the docs page and its assets, GET /docs.
	OpDocs Operation = "docs"
	// OpAdmin serves the admin page and its files, GET /admin.
	OpAdmin Operation = "admin"
	// OpLive and OpReady serve the health endpoints, GET /healthz and
	// GET /readyz, outside the prefix.
	OpLive  Operation = "live"
	OpReady Operation = "ready"
	// OpMetrics serves the Prometheus metrics, GET /metrics.
	OpMetrics Operation = "metrics"
)

// Spec describes one operation of the API: everything the router, the
// OpenAPI document and the tests need to know of it. The framework builds
// the list of Specs of a resource when the model is registered; Mount adds
// one route per Spec and no others.
type Spec struct {
	// Op is the operation. Resource operations are overridable.
	Op Operation
	// Resource is the resource the operation serves; nil for API-wide
	// operations.
	Resource *introspect.Resource
	// ID is the operationId, e.g. "listPosts".
	ID string
	// Summary is a one-line description.
	Summary string
	// Method is the HTTP method. A GET also answers HEAD.
	Method string
	// Path is relative to the API prefix, in Echo's syntax: "/posts/:id".
	Path string
	// Params are the path parameters, then the query parameters.
	Params []Param
	// Body is the request body, BodyNone for none.
	Body Body
	// Responses are the statuses the operation answers with, in order,
	// each with its body. Every error status is problem+json.
	Responses []Response
	// Action is the casbin action the operation needs; "" when it needs
	// none. An action scoped to owned rows (update:own) counts.
	Action string
	// OrAction is another action that also lets a caller perform the
	// operation, in a form its parameters select: hard_delete allows a
	// DELETE with permanent=true without delete. "" for none.
	OrAction string
	// Overridden is set when an override replaces the generated handler;
	// the path, parameters and action stay those of the operation.
	Overridden bool
	// Schemas are response bodies an override declared, by status; they
	// take the place of the generated ones.
	Schemas map[int]any
	// Hidden operations serve the document itself, or the operators'
	// endpoints, and are left out of it.
	Hidden bool
	// Root says Path is from the server's root, not under the API prefix
	// (the health and metrics endpoints).
	Root bool
}

// Overridable reports whether an override may replace the operation.
func (s *Spec) Overridable() bool { return Generated(s.Op) != nil }

// Param is one path or query parameter of an operation.
type Param struct {
	Name string
	// In is "path" or "query".
	In string
	// Type is the value's type.
	Type ParamType
	// Field is the field a filter compares with: the value has its type
	// (a comma-separated list of them for ParamList).
	Field *introspect.Field
	// Enum lists the allowed values; for ParamList, the allowed items.
	Enum []string
	// Default is the value when the parameter is absent, "" for none.
	Default string
	// Min and Max bound an integer parameter; Max 0 is no bound.
	Min, Max int
	// Required is set for path parameters.
	Required bool
	// Requires is an action the caller must hold for the parameter to be
	// allowed ("read_deleted" for includeDeleted); "" when any caller may
	// send it. Deletion fields' filters and sort keys follow it too.
	Requires string
	// Description says what the parameter does.
	Description string
}

// ParamType is the type of a parameter's value.
type ParamType int

// Parameter types.
const (
	ParamString ParamType = iota
	ParamInteger
	ParamBoolean
	// ParamField is a value of Param.Field's type.
	ParamField
	// ParamList is a comma-separated list: of Param.Field's type when
	// Field is set, else of strings (of Enum when Enum is set).
	ParamList
)

// Body is the kind of request body an operation reads.
type Body int

// Request bodies.
const (
	BodyNone Body = iota
	// BodyCreate is a whole record: required fields must be present.
	BodyCreate
	// BodyUpdate is a partial record (a merge patch of given fields).
	BodyUpdate
	// BodyBatch is a BatchRequest.
	BodyBatch
	// BodyReplace is a whole record whose key the path gives (PUT).
	BodyReplace
)

// Response is one status an operation answers with, and its body.
type Response struct {
	Status   int
	Envelope Envelope
	// Requires is an action without which the caller never gets this
	// response ("hard_delete" for the permanent-delete body).
	Requires string
}

// The error statuses operations answer: every one can meet a malformed
// query string, bad credentials, a refusal, a failure and a storage fault
// or busy database, and a body too large (every resource operation bounds
// its body); one that reads a body can meet its faults.
var (
	commonProblems     = []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge, http.StatusInternalServerError, http.StatusServiceUnavailable}
	permissionProblems = []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusInternalServerError, http.StatusServiceUnavailable}
	bodyProblems       = []int{http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity}
)

// Problems lists problem+json responses of statuses.
func Problems(statuses ...int) []Response { return problems(statuses) }

func problems(statuses ...[]int) []Response {
	var out []Response
	for _, group := range statuses {
		for _, s := range group {
			out = append(out, Response{Status: s, Envelope: EnvelopeProblem})
		}
	}
	return out
}

// APISpecs lists the API-wide operations.
func APISpecs() []Spec {
	return []Spec{{
		Op: OpAllPermissions, ID: "getPermissions", Method: http.MethodGet, Path: "/" + SegmentPermissions,
		Summary:   "What the caller may do on every resource",
		Responses: append([]Response{{Status: http.StatusOK, Envelope: EnvelopeAllPermissions}}, problems(permissionProblems)...),
	}}
}

// ResourceSpecs lists the operations of res, as generated; lim bounds
// the page parameters.
func ResourceSpecs(res *introspect.Resource, lim Limits) []Spec {
	name := res.Name
	title := exportedName(name)
	base := "/" + name
	item := base + "/:id"
	id := Param{Name: "id", In: "path", Type: ParamField, Field: res.PK, Required: true, Description: "The record's key."}
	soft := res.SoftDeletable()
	deleted := func(p Param) Param {
		p.Requires = auth.ActionReadDeleted
		return p
	}
	var trash []Param
	if soft {
		trash = []Param{
			deleted(Param{Name: paramIncludeDeleted, In: "query", Type: ParamBoolean, Default: "false", Description: "Include soft-deleted records (needs read_deleted)."}),
			deleted(Param{Name: paramOnlyDeleted, In: "query", Type: ParamBoolean, Default: "false", Description: "Only soft-deleted records: the trash view (needs read_deleted)."}),
		}
	}
	fields := Param{Name: paramFields, In: "query", Type: ParamList, Enum: fieldNames(res), Description: "Sparse fieldset: the fields to return, comma-separated."}
	var relations []string
	for _, rel := range res.Relations {
		relations = append(relations, rel.Name)
	}
	var include []Param
	if len(relations) > 0 {
		include = []Param{{Name: paramInclude, In: "query", Type: ParamList, Enum: relations, Description: "Related records to embed, comma-separated."}}
	}
	readProblems := problems(commonProblems)
	itemProblems := problems(commonProblems, []int{http.StatusNotFound})

	listParams := []Param{
		{Name: paramFilter, In: "query", Type: ParamString, Description: "A filter expression, e.g. views > 10 and title like \"*go*\"."},
		{Name: paramSort, In: "query", Type: ParamList, Enum: sortNames(res), Description: "Sort keys, comma-separated; a leading - sorts descending."},
		fields,
	}
	listParams = append(listParams, include...)
	listParams = append(listParams,
		Param{Name: paramLimit, In: "query", Type: ParamInteger, Min: 1, Max: lim.MaxLimit, Default: strconv.Itoa(lim.DefaultLimit), Description: "Page size."},
		Param{Name: paramOffset, In: "query", Type: ParamInteger, Min: 0, Max: maxOffset, Default: "0", Description: "Records to skip."},
		Param{Name: paramPage, In: "query", Type: ParamInteger, Min: 1, Max: maxOffset, Description: "Page number, from 1; an alternative to offset."},
		Param{Name: paramCursor, In: "query", Type: ParamString, Description: "The nextCursor of the previous page."},
		Param{Name: paramCount, In: "query", Type: ParamBoolean, Default: "true", Description: "false leaves out meta.total."},
	)
	listParams = append(listParams, trash...)
	listParams = append(listParams, filterParams(res)...)

	ifMatch := Param{Name: "If-Match", In: "header", Type: ParamString, Description: "The ETag the client read: the write happens only if the record still has it (else 412). * means \"exists and is visible to me\"."}
	ifNoneMatch := Param{Name: "If-None-Match", In: "header", Type: ParamString, Description: "The ETag the client holds: 304 with no body when the record still has it."}
	preconditions := []int{http.StatusPreconditionFailed}
	if res.RequireIfMatch {
		preconditions = append(preconditions, http.StatusPreconditionRequired)
	}
	getParams := append([]Param{id, fields}, include...)
	if soft {
		getParams = append(getParams, trash[0]) // a get takes no onlyDeleted
	}
	getParams = append(getParams, ifNoneMatch)

	specs := []Spec{
		{
			Op: OpList, ID: "list" + title, Summary: "List " + name, Method: http.MethodGet, Path: base,
			Params: listParams, Action: auth.ActionRead,
			Responses: append([]Response{{Status: http.StatusOK, Envelope: EnvelopeList}}, readProblems...),
		},
		{
			Op: OpPermissions, ID: "get" + title + "Permissions", Summary: "What the caller may do on " + name, Method: http.MethodGet, Path: base + "/" + SegmentPermissions,
			Responses: append([]Response{{Status: http.StatusOK, Envelope: EnvelopePermissions}}, problems(permissionProblems)...),
		},
		{
			Op: OpCreate, ID: "create" + title, Summary: "Create a record of " + name, Method: http.MethodPost, Path: base,
			Body: BodyCreate, Action: auth.ActionCreate,
			Responses: append([]Response{{Status: http.StatusCreated, Envelope: EnvelopeRecord}}, problems(commonProblems, []int{http.StatusConflict}, bodyProblems)...),
		},
		{
			Op: OpBulkDelete, ID: "bulkDelete" + title, Summary: "Delete the " + name + " records that match the filters", Method: http.MethodDelete, Path: base,
			Params:    append([]Param{{Name: paramFilter, In: "query", Type: ParamString, Description: "A filter expression; bulk deletes need at least one condition."}}, filterParams(res)...),
			Action:    auth.ActionDelete,
			Responses: append([]Response{{Status: http.StatusOK, Envelope: EnvelopeBulkDeleted}}, problems(commonProblems, []int{http.StatusConflict})...),
		},
		{
			Op: OpGet, ID: "get" + title, Summary: "Get a record of " + name, Method: http.MethodGet, Path: item,
			Params: getParams, Action: auth.ActionRead,
			Responses: append([]Response{{Status: http.StatusOK, Envelope: EnvelopeRecord}, {Status: http.StatusNotModified}}, itemProblems...),
		},
		{
			Op: OpUpdate, ID: "update" + title, Summary: "Update fields of a record of " + name, Method: http.MethodPatch, Path: item,
			Params: []Param{id, ifMatch}, Body: BodyUpdate, Action: auth.ActionUpdate,
			Responses: append([]Response{{Status: http.StatusOK, Envelope: EnvelopeRecord}}, problems(commonProblems, []int{http.StatusNotFound, http.StatusConflict}, bodyProblems, preconditions)...),
		},
	}
	del := Spec{
		Op: OpDelete, ID: "delete" + title, Method: http.MethodDelete, Path: item,
		Params: []Param{id, {Name: paramPermanent, In: "query", Type: ParamBoolean, Default: "false", Requires: auth.ActionHardDelete, Description: "Delete the record for good, live or deleted (needs hard_delete)."}, ifMatch},
		Action: auth.ActionDelete, OrAction: auth.ActionHardDelete,
	}
	if soft {
		del.Summary = "Soft-delete a record of " + name
		del.Responses = []Response{{Status: http.StatusOK, Envelope: EnvelopeSoftDeleted, Requires: auth.ActionDelete}, {Status: http.StatusOK, Envelope: EnvelopeHardDeleted, Requires: auth.ActionHardDelete}}
	} else {
		del.Summary = "Delete a record of " + name
		del.Responses = []Response{{Status: http.StatusOK, Envelope: EnvelopeDeleted, Requires: auth.ActionDelete}, {Status: http.StatusOK, Envelope: EnvelopeHardDeleted, Requires: auth.ActionHardDelete}}
	}
	del.Responses = append(del.Responses, problems(commonProblems, []int{http.StatusNotFound, http.StatusConflict}, preconditions)...)
	delDry := del
	delDry.Op, delDry.ID, delDry.Method, delDry.Path = OpDeleteDryRun, "dryRunDelete"+title, http.MethodPost, item+"/"+SegmentDelete+"/"+SegmentDryRun
	delDry.Summary = "What deleting a record of " + name + " would change, changing nothing"
	delDry.Responses = append([]Response{{Status: http.StatusOK, Envelope: EnvelopeDryRun}}, problems(commonProblems, []int{http.StatusNotFound, http.StatusConflict})...)
	specs = append(specs, del, delDry)
	if soft {
		specs = append(specs,
			Spec{
				Op: OpRestore, ID: "restore" + title, Summary: "Restore a soft-deleted record of " + name, Method: http.MethodPost, Path: item + "/" + SegmentRestore,
				Params: []Param{id, ifMatch}, Action: auth.ActionRestore,
				Responses: append([]Response{{Status: http.StatusOK, Envelope: EnvelopeRestored}}, problems(commonProblems, []int{http.StatusNotFound, http.StatusConflict}, preconditions)...),
			},
			Spec{
				Op: OpBulkRestore, ID: "bulkRestore" + title, Summary: "Restore the soft-deleted " + name + " records that match the filters", Method: http.MethodPost, Path: base + "/" + SegmentRestore,
				Params:    append([]Param{{Name: paramFilter, In: "query", Type: ParamString, Description: "A filter expression; bulk restores need at least one condition."}}, filterParams(res)...),
				Action:    auth.ActionRestore,
				Responses: append([]Response{{Status: http.StatusOK, Envelope: EnvelopeBulkRestored}}, problems(commonProblems, []int{http.StatusConflict})...),
			})
		// The dry runs of the restores, asked as they are.
		restore, bulk := specs[len(specs)-2], specs[len(specs)-1]
		restore.Op, restore.ID = OpRestoreDryRun, "dryRunRestore"+title
		restore.Summary = "What restoring a record of " + name + " would change, changing nothing"
		bulk.Op, bulk.ID = OpBulkRestoreDryRun, "dryRunBulkRestore"+title
		bulk.Summary = "What restoring the " + name + " records that match the filters would change, changing nothing"
		for _, dry := range []*Spec{&restore, &bulk} {
			dry.Path += "/" + SegmentDryRun
			dry.Responses = append([]Response{{Status: http.StatusOK, Envelope: EnvelopeDryRun}}, dry.Responses[1:]...)
			specs = append(specs, *dry)
		}
	}
	if up, ok := UpsertSpec(res); ok {
		specs = append(specs, up)
	}
	for i := range specs {
		specs[i].Resource = res
	}
	return specs
}

// filterParams lists the simple-form filters of res: ?field=value and
// ?field[op]=value for every operator the field's kind takes. Filters on
// the deletion fields need read_deleted.
func filterParams(res *introspect.Resource) []Param {
	var out []Param
	for _, f := range res.Exposed(true) {
		for _, op := range filterOperators(f) {
			p := Param{In: "query", Type: ParamField, Field: f, Name: f.JSON + "[" + op + "]", Description: filterDescriptions[op]}
			switch op {
			case opIn:
				p.Type = ParamList
			case opNull:
				p.Type, p.Field = ParamBoolean, nil
			case opLike:
				p.Type, p.Field = ParamString, nil
			}
			if res.IsDeletionField(f) {
				p.Requires = auth.ActionReadDeleted
			}
			if op == opEq {
				plain := p
				plain.Name = f.JSON
				out = append(out, plain)
			}
			out = append(out, p)
		}
	}
	return out
}

var filterDescriptions = map[string]string{
	opEq: "Equals.", opNe: "Does not equal.", opGt: "Greater than.", opGte: "Greater than or equal.",
	opLt: "Less than.", opLte: "Less than or equal.", opLike: "Matches the pattern, * being the wildcard, ignoring case.",
	opIn: "One of a comma-separated list.", opNull: "true: is null; false: is not null.",
}

// filterOperators lists the operators of the simple form a field takes,
// as parseCondition accepts them.
func filterOperators(f *introspect.Field) []string {
	if f.Kind == introspect.KindOther {
		return nil
	}
	ops := []string{opEq, opNe, opGt, opGte, opLt, opLte}
	if f.Kind == introspect.KindString {
		ops = append(ops, opLike)
	}
	return append(ops, opIn, opNull)
}

// fieldNames lists the JSON names of every exposed field of res.
func fieldNames(res *introspect.Resource) []string {
	var out []string
	for _, f := range res.Exposed(true) {
		out = append(out, f.JSON)
	}
	return out
}

// sortNames lists the sort keys of res: each sortable field, ascending and
// with a leading "-".
func sortNames(res *introspect.Resource) []string {
	var out []string
	for _, f := range res.Exposed(true) {
		if f.Kind == introspect.KindOther {
			continue
		}
		out = append(out, f.JSON, "-"+f.JSON)
	}
	return out
}

// exportedName turns a resource name into the part of an operationId
// after the verb: "posts" is "Posts", "audit_logs" is "AuditLogs".
func exportedName(name string) string {
	var b strings.Builder
	upper := true
	for _, r := range name {
		if r == '_' || r == '-' || r == '.' {
			upper = true
			continue
		}
		if upper && 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		upper = false
		b.WriteRune(r)
	}
	return b.String()
}
