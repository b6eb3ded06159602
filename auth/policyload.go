package auth

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
)

// policyRule is one policy line as loaded: its ptype and values, and where
// it came from, for errors.
type policyRule struct {
	where  string
	values []string // values[0] is the ptype
}

// policySource is where an Enforcer's policy comes from: policy text, a
// policy file, or an adapter. adapter is always set: it is what casbin
// saves to (a string or file adapter for text and files).
type policySource struct {
	text    string
	file    string
	adapter persist.Adapter
}

// read loads every policy line from the source and checks it against m.
// casbin's own string adapter drops a line it cannot load without a word,
// and its errors name neither the line nor the source; text and files are
// therefore read here, line by line, the way casbin's adapters read them.
func (s policySource) read(m model.Model) ([]policyRule, error) {
	var rules []policyRule
	switch {
	case s.text != "":
		var err error
		if rules, err = parsePolicy("Policy text", s.text); err != nil {
			return nil, err
		}
	case s.file != "":
		data, err := os.ReadFile(s.file)
		if err != nil {
			return nil, fmt.Errorf("auth: PolicyFile: %w", err)
		}
		if rules, err = parsePolicy("PolicyFile "+s.file, string(data)); err != nil {
			return nil, err
		}
	default:
		// An adapter has no lines to point at; it loads into a scratch
		// copy of the model, whose rules are then checked like lines.
		scratch := m.Copy()
		scratch.ClearPolicy()
		if err := s.adapter.LoadPolicy(scratch); err != nil {
			return nil, fmt.Errorf("auth: policy adapter: %w", err)
		}
		for _, sec := range []string{"p", "g"} {
			ptypes := make([]string, 0, len(scratch[sec]))
			for ptype := range scratch[sec] {
				ptypes = append(ptypes, ptype)
			}
			slices.Sort(ptypes)
			for _, ptype := range ptypes {
				for _, rule := range scratch[sec][ptype].Policy {
					rules = append(rules, policyRule{where: "policy adapter", values: append([]string{ptype}, rule...)})
				}
			}
		}
	}
	for _, r := range rules {
		if err := checkRule(m, r.values); err != nil {
			return nil, fmt.Errorf("auth: %s %q: %w", r.where, strings.Join(r.values, ", "), err)
		}
	}
	return rules, nil
}

// parsePolicy splits casbin policy CSV into rules, numbering the lines;
// blank lines and # comments are skipped, as casbin skips them.
func parsePolicy(source, text string) ([]policyRule, error) {
	var rules []policyRule
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := fmt.Sprintf("%s line %d", source, i+1)
		r := csv.NewReader(strings.NewReader(line))
		r.Comment = '#'
		r.TrimLeadingSpace = true
		values, err := r.Read()
		if err != nil {
			return nil, fmt.Errorf("auth: %s %q: %w", where, line, err)
		}
		rules = append(rules, policyRule{where: where, values: values})
	}
	return rules, nil
}

// checkRule reports whether a policy line fits the model: its ptype is one
// the model defines, and it has as many values as the definition names.
// casbin itself refuses a p line of another size only when a request is
// checked, and cuts a g line's extra values off, which would give a role
// more widely than the line says; both are errors here.
func checkRule(m model.Model, values []string) error {
	ptype := values[0]
	var ast *model.Assertion
	sec := ""
	if ptype != "" {
		sec = ptype[:1]
		if sec == "p" || sec == "g" {
			ast = m[sec][ptype]
		}
	}
	if ast == nil {
		return fmt.Errorf("unknown policy type %q; the model defines %s", ptype, strings.Join(definedTypes(m), ", "))
	}
	got, want, most := len(values)-1, len(ast.Tokens), len(ast.Tokens)
	if sec == "g" {
		// A conditional role definition, g = _, _, (from, to), may add
		// the condition's arguments.
		most += len(ast.ParamsTokens)
	}
	if got < want || got > most {
		n := fmt.Sprint(want)
		if most > want {
			n = fmt.Sprintf("%d to %d", want, most)
		}
		return fmt.Errorf("%s needs %s values (%s = %s), got %d", ptype, n, ptype, ast.Value, got)
	}
	return nil
}

func definedTypes(m model.Model) []string {
	var types []string
	for _, sec := range []string{"p", "g"} {
		for ptype := range m[sec] {
			types = append(types, ptype)
		}
	}
	slices.Sort(types)
	return types
}

// snapshot is a read-only adapter over rules already read and checked, so
// that casbin applies exactly what was checked.
type snapshot []policyRule

var errSnapshot = errors.New("auth: the policy snapshot is read-only")

// LoadPolicy implements persist.Adapter.
func (s snapshot) LoadPolicy(m model.Model) error {
	for _, r := range s {
		if err := persist.LoadPolicyArray(r.values, m); err != nil {
			return fmt.Errorf("auth: %s %q: %w", r.where, strings.Join(r.values, ", "), err)
		}
	}
	return nil
}

// SavePolicy implements persist.Adapter.
func (snapshot) SavePolicy(model.Model) error { return errSnapshot }

// AddPolicy implements persist.Adapter.
func (snapshot) AddPolicy(string, string, []string) error { return errSnapshot }

// RemovePolicy implements persist.Adapter.
func (snapshot) RemovePolicy(string, string, []string) error { return errSnapshot }

// RemoveFilteredPolicy implements persist.Adapter.
func (snapshot) RemoveFilteredPolicy(string, string, int, ...string) error { return errSnapshot }
