package framework

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
	"go.yaml.in/yaml/v4"
	"golang.org/x/sync/singleflight"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/handlers"
	"github.com/autoapi-go/autoapi/internal/introspect"
	"github.com/autoapi-go/autoapi/internal/openapi"
)

// Paths of the OpenAPI document, under the prefix.
const (
	openAPIJSONPath = "/openapi.json"
	openAPIYAMLPath = "/openapi.yaml"
)

// openAPISpecs are the routes of the document; none with DocumentOff.
func (a *App) openAPISpecs() []handlers.Spec {
	if a.cfg.OpenAPI.Mode == DocumentOff {
		return nil
	}
	spec := func(path, summary string) handlers.Spec {
		return handlers.Spec{
			Op: handlers.OpOpenAPI, ID: "getOpenAPI", Summary: summary, Method: http.MethodGet, Path: path, Hidden: true,
			Responses: []handlers.Response{{Status: http.StatusOK}},
		}
	}
	return []handlers.Spec{
		spec(openAPIJSONPath, "The OpenAPI document, as JSON"),
		spec(openAPIYAMLPath, "The OpenAPI document, as YAML"),
	}
}

// documents serves the OpenAPI document, built once per set of
// permissions a caller can hold and kept.
type documents struct {
	app *App
	api *openapi.API
	mu  sync.Mutex
	// built maps a reader's permission key to its document, JSON and YAML.
	built map[string]*builtDocument
	// building builds each key's document once at a time.
	building singleflight.Group
}

// builtDocument is one document as JSON, and as YAML once asked for:
// most callers want only the JSON, and the YAML costs as much again.
type builtDocument struct {
	t    *openapi3.T
	json []byte
	once sync.Once
	yaml []byte
	err  error
}

// yamlText returns the document as YAML.
func (d *builtDocument) yamlText() ([]byte, error) {
	d.once.Do(func() { d.yaml, d.err = yaml.Marshal(d.t) })
	return d.yaml, d.err
}

// maxDocuments bounds the documents kept: one per distinct set of
// permissions, which a policy with many roles could make numerous.
const maxDocuments = 256

func (a *App) newDocuments(specs []*handlers.Spec) *documents {
	api := &openapi.API{
		Title: a.cfg.OpenAPI.Title, Version: a.cfg.OpenAPI.Version, Description: a.cfg.OpenAPI.Description, License: a.cfg.OpenAPI.License,
		Prefix: a.cfg.Prefix, Specs: specs,
		Related: map[reflect.Type]*introspect.Resource{},
	}
	for _, r := range a.resources {
		api.Resources = append(api.Resources, r.desc)
		api.Related[r.desc.Type] = r.desc
	}
	return &documents{app: a, api: api, built: map[string]*builtDocument{}}
}

// serve answers GET openapi.json or openapi.yaml.
func (d *documents) serve(c echo.Context) error {
	if c.QueryString() != "" {
		return handlers.NewProblem(http.StatusBadRequest, "the OpenAPI document takes no query parameters")
	}
	key, reader, err := d.reader(auth.FromContext(c.Request().Context()))
	if err != nil {
		return err
	}
	doc, err := d.document(key, reader)
	if err != nil {
		return err
	}
	if strings.HasSuffix(c.Path(), openAPIYAMLPath) {
		y, err := doc.yamlText()
		if err != nil {
			return err
		}
		return c.Blob(http.StatusOK, "application/yaml", y)
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, doc.json)
}

// reader returns what p may do, as a key naming the set and as a Reader;
// with DocumentFull, everything.
func (d *documents) reader(p auth.Principal) (string, openapi.Reader, error) {
	if d.app.cfg.OpenAPI.Mode == DocumentFull {
		return "", nil, nil
	}
	held := map[string]handlers.Scopes{}
	var key strings.Builder
	for _, r := range d.api.Resources {
		scopes, err := handlers.AllowedActions(d.app.authorizer, p, r)
		if err != nil {
			return "", nil, err
		}
		held[r.Name] = scopes
		b, _ := json.Marshal(scopes) // sorted keys: a stable key
		fmt.Fprintf(&key, "%s=%s;", r.Name, b)
	}
	return key.String(), func(resource, action string) string {
		return held[resource][action]
	}, nil
}

func (d *documents) document(key string, reader openapi.Reader) (*builtDocument, error) {
	d.mu.Lock()
	doc, ok := d.built[key]
	d.mu.Unlock()
	if ok {
		return doc, nil
	}
	// Callers who arrive together with the same permissions wait for one
	// build rather than each make their own.
	v, err, _ := d.building.Do(key, func() (any, error) {
		t, j, err := openapi.Build(d.api, reader)
		if err != nil {
			return nil, err
		}
		doc := &builtDocument{t: t, json: j}
		d.mu.Lock()
		if len(d.built) >= maxDocuments {
			// Start over rather than keep the first sets for good: a
			// policy reloaded with other roles leaves keys no caller
			// holds any more, and the sets in use come back at once.
			clear(d.built)
		}
		d.built[key] = doc
		d.mu.Unlock()
		return doc, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*builtDocument), nil
}
