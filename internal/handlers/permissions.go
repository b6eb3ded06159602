package handlers

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/autoapi-go/autoapi/auth"
	"github.com/autoapi-go/autoapi/internal/introspect"
)

// The path segments of the framework's own routes beside the rows':
// GET /R/permissions, POST /R/restore and POST /R/:id/restore. No row key
// may take one of these names (see reservedKeys).
const (
	SegmentPermissions = "permissions"
	SegmentRestore     = "restore"
)

// reservedKeys are the values a client-chosen key may not take, because
// the framework's routes use them as path segments.
var reservedKeys = []string{SegmentPermissions, SegmentRestore}

// Permissions answers "what may I do?" for the caller, so that a UI can
// hide the buttons it cannot use.

// ActionsOf lists the actions that mean something on res.
func ActionsOf(res *introspect.Resource) []string {
	actions := []string{auth.ActionRead, auth.ActionCreate, auth.ActionUpdate, auth.ActionDelete, auth.ActionHardDelete}
	if res.SoftDeletable() {
		actions = append(actions, auth.ActionRestore, auth.ActionReadDeleted)
	}
	return actions
}

// AllowedActions maps each action p may do on res to its scope: "all"
// for every row, "own" for the rows p owns.
func AllowedActions(authz Authorizer, p auth.Principal, res *introspect.Resource) (Scopes, error) {
	out := Scopes{}
	var failed error
	can := func(action string) bool {
		ok, err := authz.Allowed(p, res.Name, action)
		if err != nil {
			failed = err
		}
		return ok
	}
	for _, action := range ActionsOf(res) {
		switch scopeOf(res, p, action, can) {
		case scopeAll:
			out[action] = "all"
		case scopeOwn:
			out[action] = "own"
		}
	}
	return out, failed
}

// ResourcePermissions serves GET /R/permissions.
func ResourcePermissions(c *Context) error {
	if _, err := c.Query(); err != nil {
		return err
	}
	actions, err := AllowedActions(c.svc.ep.Authorizer, c.grants.principal, c.svc.res)
	if err != nil {
		return err
	}
	return writeData(c.Context, actions)
}

// AllPermissions returns the handler of GET /permissions over every
// resource.
func AllPermissions(authz Authorizer, resources []*introspect.Resource) echo.HandlerFunc {
	return func(c echo.Context) error {
		params, err := url.ParseQuery(c.Request().URL.RawQuery)
		if err != nil {
			return malformedQuery()
		}
		if err := checkParams(params, nil); err != nil {
			return err
		}
		p := auth.FromContext(c.Request().Context())
		out := make(map[string]map[string]string, len(resources))
		for _, res := range resources {
			actions, err := AllowedActions(authz, p, res)
			if err != nil {
				return err
			}
			out[res.Name] = actions
		}
		return writeData(c, out)
	}
}

func writeData(c echo.Context, v any) error {
	b, err := json.Marshal(Data[any]{Data: v})
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, jsonContentType, b)
}
