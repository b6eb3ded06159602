package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/autoapi-go/autoapi/internal/introspect"
)

// OpBatch serves POST /batch: several writes in one transaction.
const OpBatch Operation = "batch"

// BatchRequest is the body of POST /batch.
type BatchRequest struct {
	Operations []BatchOperation `json:"operations"`
}

// BatchOperation is one write of a batch: what the request of the same
// operation alone would say, in JSON.
type BatchOperation struct {
	// Op is "create", "update", "delete" or "restore".
	Op string `json:"op"`
	// Resource is the resource's name, as in its path.
	Resource string `json:"resource"`
	// ID is the record's key, for all but create: a string or a number,
	// or {"ref": name} for a record an earlier create of the batch made.
	ID json.RawMessage `json:"id,omitempty"`
	// Body is the record of a create, the fields of an update; values
	// {"ref": name} stand for the key of the record the create named
	// name made.
	Body json.RawMessage `json:"body,omitempty"`
	// IfMatch is the operation's If-Match.
	IfMatch string `json:"ifMatch,omitempty"`
	// Permanent makes a delete permanent (needs hard_delete).
	Permanent bool `json:"permanent,omitempty"`
	// Ref names the record a create makes, for the operations after it.
	Ref string `json:"ref,omitempty"`
}

// BatchResult is the answer of one operation of a batch that succeeded.
type BatchResult struct {
	Status int `json:"status"`
	// Body is what the operation alone would have answered.
	Body     json.RawMessage `json:"body"`
	ETag     string          `json:"etag,omitempty"`
	Location string          `json:"location,omitempty"`
	// Header is every header of the answer, for an upsert to pass on.
	Header http.Header `json:"-"`
}

// The operations a batch takes, and what each is alone.
var batchOps = map[string]Operation{"create": OpCreate, "update": OpUpdate, "delete": OpDelete, "restore": OpRestore}

// BatchStep is one validated operation of a batch, ready to run: its
// resource and operation, and the request it makes once its references
// are known.
type BatchStep struct {
	BatchOperation
	Res *introspect.Resource
	Op  Operation
}

// ParseBatch reads and checks a batch's body: at most max operations,
// each complete, on registered resources, referring only to records that
// earlier creates of the batch name. Every fault is a 422 naming the
// operation and member; nothing runs until all of them are right.
func ParseBatch(c echo.Context, max int, resources map[string]*introspect.Resource) ([]BatchStep, error) {
	mt, _, err := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return nil, NewProblem(http.StatusUnsupportedMediaType, "the request body must be application/json (UTF-8)")
	}
	raw, err := readBody(c.Request())
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var req BatchRequest
	if err := dec.Decode(&req); err != nil || dec.More() {
		return nil, NewProblem(http.StatusBadRequest, "the request body must be a JSON object {\"operations\": [...]} whose operations have only the members op, resource, id, body, ifMatch, permanent and ref")
	}
	if len(req.Operations) == 0 {
		return nil, unprocessable([]FieldError{{Field: "operations", Message: "needs at least one operation"}})
	}
	if len(req.Operations) > max {
		return nil, unprocessable([]FieldError{{Field: "operations", Message: fmt.Sprintf("holds %d operations; a batch takes at most %d", len(req.Operations), max)}})
	}
	var faults []FieldError
	fault := func(i int, member, message string) {
		faults = append(faults, FieldError{Field: fmt.Sprintf("operations[%d].%s", i, member), Message: message})
	}
	made := map[string]bool{}
	steps := make([]BatchStep, len(req.Operations))
	for i, o := range req.Operations {
		steps[i] = BatchStep{BatchOperation: o}
		op, ok := batchOps[o.Op]
		if !ok {
			fault(i, "op", `must be "create", "update", "delete" or "restore"`)
			continue
		}
		steps[i].Op = op
		res, ok := resources[o.Resource]
		if !ok {
			fault(i, "resource", "names no resource")
			continue
		}
		steps[i].Res = res
		hasID := len(o.ID) > 0 && string(o.ID) != "null"
		switch {
		case op == OpCreate && hasID:
			fault(i, "id", "a create takes its key from the body")
		case op != OpCreate && !hasID:
			fault(i, "id", "is required")
		case hasID:
			if ref, isRef := refOf(o.ID); isRef {
				if !made[ref] {
					fault(i, "id", "refers to "+strconv.Quote(ref)+", which no earlier create of the batch names")
				}
			} else if _, err := keyText(o.ID); err != nil {
				fault(i, "id", "must be a string, a number or {\"ref\": name}")
			}
		}
		hasBody := len(o.Body) > 0 && string(o.Body) != "null"
		switch {
		case (op == OpCreate || op == OpUpdate) && (!hasBody || bytes.TrimSpace(o.Body)[0] != '{'):
			fault(i, "body", "must be a JSON object")
		case op != OpCreate && op != OpUpdate && hasBody:
			fault(i, "body", "a "+o.Op+" takes no body")
		case hasBody && jsonDepth(o.Body) > maxBodyDepth:
			fault(i, "body", fmt.Sprintf("is nested more than %d levels deep", maxBodyDepth))
		case hasBody:
			if err := eachRef(o.Body, func(ref string) error {
				if !made[ref] {
					return fmt.Errorf("refers to %q, which no earlier create of the batch names", ref)
				}
				return nil
			}); err != nil {
				fault(i, "body", err.Error())
			}
		}
		if o.Permanent && op != OpDelete {
			fault(i, "permanent", "only a delete can be permanent")
		}
		if o.Ref != "" {
			switch {
			case op != OpCreate:
				fault(i, "ref", "only a create names the record it makes")
			case made[o.Ref]:
				fault(i, "ref", strconv.Quote(o.Ref)+" names an earlier create already")
			}
			made[o.Ref] = true
		}
	}
	if len(faults) > 0 {
		return nil, unprocessable(faults)
	}
	return steps, nil
}

// maxBodyDepth bounds how deep an operation's body nests: the references
// in it are looked for at every level, which must not let a small body
// cost much.
const maxBodyDepth = 32

// jsonDepth is how deep raw's objects and arrays nest.
func jsonDepth(raw []byte) int {
	depth, deepest, inString, escaped := 0, 0, false, false
	for _, c := range raw {
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case inString && c == '"':
			inString = false
		case inString:
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > deepest {
				deepest = depth
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// refOf reads {"ref": name}.
func refOf(raw json.RawMessage) (string, bool) {
	var r struct {
		Ref *string `json:"ref"`
	}
	t := bytes.TrimSpace(raw)
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.DisallowUnknownFields()
	if len(t) == 0 || t[0] != '{' || dec.Decode(&r) != nil || r.Ref == nil {
		return "", false
	}
	return *r.Ref, true
}

// keyText is a key given as a JSON string or number, as a path spells it.
func keyText(raw json.RawMessage) (string, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	switch k := v.(type) {
	case string:
		return k, nil
	case json.Number:
		return k.String(), nil
	}
	return "", errors.New("not a key")
}

// eachRef calls fn with every {"ref": name} among the values of the
// object raw, at any depth.
func eachRef(raw json.RawMessage, fn func(string) error) error {
	_, err := replaceRefs(raw, func(ref string) (json.RawMessage, error) { return nil, fn(ref) })
	return err
}

// replaceRefs returns raw with every {"ref": name} in it replaced by
// what key says of name.
func replaceRefs(raw json.RawMessage, key func(string) (json.RawMessage, error)) (json.RawMessage, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return raw, nil
	}
	switch t[0] {
	case '{':
		if ref, ok := refOf(t); ok {
			k, err := key(ref)
			if err != nil || k == nil {
				return raw, err
			}
			return k, nil
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(t, &m); err != nil {
			return raw, nil // the operation's own decoding answers it
		}
		changed := false
		for name, v := range m {
			nv, err := replaceRefs(v, key)
			if err != nil {
				return raw, err
			}
			if !bytes.Equal(nv, v) {
				m[name], changed = nv, true
			}
		}
		if !changed {
			return raw, nil
		}
		return json.Marshal(m)
	case '[':
		var list []json.RawMessage
		if err := json.Unmarshal(t, &list); err != nil {
			return raw, nil
		}
		changed := false
		for i, v := range list {
			nv, err := replaceRefs(v, key)
			if err != nil {
				return raw, err
			}
			if !bytes.Equal(nv, v) {
				list[i], changed = nv, true
			}
		}
		if !changed {
			return raw, nil
		}
		return json.Marshal(list)
	}
	return raw, nil
}

// Request builds the request of step alone, under prefix, with keys
// telling the keys of the records the batch's creates named.
func (s *BatchStep) Request(prefix string, keys map[string]json.RawMessage) (method, path, idText string, body []byte, err error) {
	lookup := func(ref string) (json.RawMessage, error) { return keys[ref], nil }
	if len(s.ID) > 0 && string(s.ID) != "null" {
		id := s.ID
		if ref, ok := refOf(id); ok {
			id = keys[ref]
		}
		if idText, err = keyText(id); err != nil {
			return "", "", "", nil, err
		}
	}
	if len(s.Body) > 0 {
		if body, err = replaceRefs(s.Body, lookup); err != nil {
			return "", "", "", nil, err
		}
	}
	base := prefix + "/" + s.Res.Name
	item := base + "/" + url.PathEscape(idText)
	switch s.Op {
	case OpCreate:
		return http.MethodPost, base, "", body, nil
	case OpUpdate:
		return http.MethodPatch, item, idText, body, nil
	case OpDelete:
		if s.Permanent {
			item += "?" + paramPermanent + "=true"
		}
		return http.MethodDelete, item, idText, nil, nil
	default:
		return http.MethodPost, item + "/" + SegmentRestore, idText, nil, nil
	}
}

// CreatedKey is the key of the record a create answered with in body.
func CreatedKey(res *introspect.Resource, body []byte) json.RawMessage {
	var answer struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if json.Unmarshal(body, &answer) != nil {
		return nil
	}
	return answer.Data[res.PK.JSON]
}

// BatchFailure is the answer to a batch one of whose operations failed:
// that operation's status and problem, naming it. Nothing was applied.
func BatchFailure(i int, s *BatchStep, status int, body []byte) *Problem {
	var p Problem
	if json.Unmarshal(body, &p) != nil || p.Detail == "" {
		p.Detail = http.StatusText(status)
	}
	what := s.BatchOperation.Op + " " + s.Res.Name
	if id, err := keyText(s.ID); len(s.ID) > 0 && err == nil {
		what += " " + id
	} else if ref, ok := refOf(s.ID); ok {
		what += " " + strings.Trim(strconv.Quote(ref), `"`)
	}
	out := NewProblem(status, fmt.Sprintf("operation %d (%s) failed, so none was applied: %s", i, what, p.Detail),
		FieldError{Field: fmt.Sprintf("operations[%d]", i), Message: p.Detail})
	for _, e := range p.Errors {
		out.Errors = append(out.Errors, FieldError{Field: fmt.Sprintf("operations[%d].body.%s", i, e.Field), Message: e.Message})
	}
	return out
}
