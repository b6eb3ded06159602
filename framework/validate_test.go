package framework_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/autoapi-go/autoapi/framework"
	"github.com/autoapi-go/autoapi/framework/dbtest"
	"github.com/autoapi-go/autoapi/internal/handlers"
)

// Account has a rule comparing two fields, which the validator can only
// check within the struct.
type Account struct {
	bun.BaseModel `bun:"table:accounts"`

	ID              int64  `bun:"id,pk,autoincrement" json:"id"`
	Name            string `bun:"name,notnull" json:"name" validate:"required,max=10"`
	Password        string `bun:"password,notnull" json:"password" validate:"required,min=8"`
	PasswordConfirm string `bun:"password_confirm,notnull" json:"passwordConfirm" validate:"eqfield=Password"`
}

// MisspeltRef names a field the model does not have.
type MisspeltRef struct {
	bun.BaseModel `bun:"table:misspelt_refs"`

	ID      int64  `bun:"id,pk,autoincrement" json:"id"`
	Secret  string `bun:"secret" json:"secret"`
	Confirm string `bun:"confirm" json:"confirm" validate:"eqfield=Secrte"`
}

// HiddenRef compares with a field no request can set.
type HiddenRef struct {
	bun.BaseModel `bun:"table:hidden_refs"`

	ID      int64  `bun:"id,pk,autoincrement" json:"id"`
	Secret  string `bun:"secret" json:"-"`
	Confirm string `bun:"confirm" json:"confirm" validate:"eqfield=Secret"`
}

// ReadOnlyRule puts a comparing rule on the generated key.
type ReadOnlyRule struct {
	bun.BaseModel `bun:"table:read_only_rules"`

	ID   int64 `bun:"id,pk,autoincrement" json:"id" validate:"nefield=Code"`
	Code int64 `bun:"code" json:"code"`
}

// OddParams gives required_if a field without its value.
type OddParams struct {
	bun.BaseModel `bun:"table:odd_params"`

	ID    int64  `bun:"id,pk,autoincrement" json:"id"`
	Kind  string `bun:"kind" json:"kind"`
	Label string `bun:"label" json:"theLabel" validate:"required_if=Kind"`
}

// TestValidateTagNamesField checks that a bad validate tag is a
// registration error naming the model, the Go field and its JSON name.
func TestValidateTagNamesField(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name     string
		register func(*testing.T, *framework.App, ...framework.Option) error
		want     []string
	}{
		{"unknown rule", register[BadRuleModel], []string{"BadRuleModel", "field Name", `json "name"`, "nosuchrule"}},
		{"bad rule parameter", register[BadParamModel], []string{"BadParamModel", "field Name", `json "name"`, "max=abc"}},
		{"rule naming a missing field", register[MisspeltRef], []string{"MisspeltRef", "field Confirm", `json "confirm"`, "Secrte", "not a column"}},
		{"rule naming a hidden field", register[HiddenRef], []string{"HiddenRef", "field Confirm", "Secret", "requests cannot set"}},
		{"rule on a read-only field", register[ReadOnlyRule], []string{"ReadOnlyRule", "field ID", `json "id"`, "nefield=Code", "cannot set"}},
		{"required_if without a value", register[OddParams], []string{"OddParams", "field Label", `json "theLabel"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.register(t, newBareApp(t))
			if err == nil {
				t.Fatal("Register succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "on field ''") {
				t.Errorf("error %q still speaks of an unnamed field", err)
			}
		})
	}
}

// TestCrossFieldValidation checks that a rule comparing two fields holds
// on create, and on update when the body sets both; a body setting only
// one of them is refused, since the other's stored value is not compared.
func TestCrossFieldValidation(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t)
	app, err := framework.New(baseConfig(db))
	if err != nil {
		t.Fatal(err)
	}
	if err := framework.Register[Account](app); err != nil {
		t.Fatal(err)
	}
	if err := app.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := newHarness(app, db)
	type fieldError = handlers.FieldError
	for _, c := range []struct {
		name   string
		method string
		url    string
		body   string
		status int
		errs   []fieldError
	}{
		{"create with matching passwords", "POST", "/api/accounts", `{"name":"ann","password":"secret123","passwordConfirm":"secret123"}`, 201, nil},
		{"create with different passwords", "POST", "/api/accounts", `{"name":"bob","password":"secret123","passwordConfirm":"secret124"}`, 422,
			[]fieldError{{Field: "passwordConfirm", Message: "must equal password"}}},
		{"create with no confirmation", "POST", "/api/accounts", `{"name":"bob","password":"secret123"}`, 422,
			[]fieldError{{Field: "passwordConfirm", Message: "must equal password"}}},
		{"create failing two fields", "POST", "/api/accounts", `{"name":"a name too long","password":"secret123","passwordConfirm":"x"}`, 422,
			[]fieldError{{Field: "name", Message: "must be at most 10 characters"}, {Field: "passwordConfirm", Message: "must equal password"}}},
		{"create with a short password", "POST", "/api/accounts", `{"name":"bob","password":"short","passwordConfirm":"short"}`, 422,
			[]fieldError{{Field: "password", Message: "must be at least 8 characters"}}},
		{"update of both, matching", "PATCH", "/api/accounts/1", `{"password":"another12","passwordConfirm":"another12"}`, 200, nil},
		{"update of both, different", "PATCH", "/api/accounts/1", `{"password":"another12","passwordConfirm":"another13"}`, 422,
			[]fieldError{{Field: "passwordConfirm", Message: "must equal password"}}},
		{"update of the password alone", "PATCH", "/api/accounts/1", `{"password":"another12"}`, 422,
			[]fieldError{{Field: "passwordConfirm", Message: "must be sent together with password, as the rule eqfield=Password of passwordConfirm compares them"}}},
		{"update of the confirmation alone", "PATCH", "/api/accounts/1", `{"passwordConfirm":"another12"}`, 422,
			[]fieldError{{Field: "password", Message: "must be sent together with passwordConfirm, as the rule eqfield=Password of passwordConfirm compares them"}}},
		{"update of another field", "PATCH", "/api/accounts/1", `{"name":"anne"}`, 200, nil},
	} {
		rec := h.Do(t, request{Token: userToken, Method: c.method, URL: c.url, Body: c.body})
		if rec.Code != c.status {
			t.Errorf("%s: %d %s, want %d", c.name, rec.Code, rec.Body, c.status)
			continue
		}
		if c.errs == nil {
			continue
		}
		var p handlers.Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Errors) != len(c.errs) {
			t.Errorf("%s: errors %+v, want %+v", c.name, p.Errors, c.errs)
			continue
		}
		for i := range c.errs {
			if p.Errors[i] != c.errs[i] {
				t.Errorf("%s: errors %+v, want %+v", c.name, p.Errors, c.errs)
			}
		}
	}
	rec := h.Do(t, request{Token: userToken, Method: "GET", URL: "/api/accounts/1"})
	if !strings.Contains(rec.Body.String(), `"password":"another12"`) || !strings.Contains(rec.Body.String(), `"name":"anne"`) {
		t.Errorf("stored account: %s", rec.Body)
	}
}
