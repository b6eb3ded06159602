package framework

import (
	"github.com/autoapi-go/autoapi/internal/counts"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// TableRoute is one operation of an App's table, as the tests see it.
type TableRoute struct {
	Method, Path string
	// Statuses are the statuses the operation answers with.
	Statuses []int
	// Hidden operations serve the document and its page.
	Hidden bool
}

// TableOf lists the operations of a's table, with the prefix in their
// paths.
func TableOf(a *App) []TableRoute {
	var out []TableRoute
	for _, s := range a.table() {
		r := TableRoute{Method: s.Method, Path: a.pathOf(s), Hidden: s.Hidden}
		for _, resp := range s.Responses {
			r.Statuses = append(r.Statuses, resp.Status)
		}
		out = append(out, r)
	}
	return out
}

// CountsTable is the table of live and deleted row counts.
const CountsTable = counts.Table

// ResourceOf returns the descriptor of a registered resource.
func ResourceOf(a *App, name string) (*introspect.Resource, bool) {
	r, ok := a.byName[name]
	if !ok {
		return nil, false
	}
	return r.desc, true
}
