package framework

import (
	"encoding/json"
	"slices"

	"github.com/autoapi-go/autoapi/internal/openapi"
)

// FullDocument returns a's whole OpenAPI document, as DocumentFull serves
// it, whatever a's mode.
func FullDocument(a *App) ([]byte, error) {
	_, text, err := openapi.Build(a.newDocuments(a.table()).api, nil)
	return text, err
}

// DocumentTwice returns a's document for a reader holding only the
// actions in held (everything when held is nil) as Build writes it, and
// as json.Marshal writes the kin-openapi document Build returns beside it.
func DocumentTwice(a *App, held []string) (built, kin []byte, err error) {
	var can openapi.Reader
	if held != nil {
		can = func(_, action string) string {
			if slices.Contains(held, action) {
				return "all"
			}
			return ""
		}
	}
	t, text, err := openapi.Build(a.newDocuments(a.table()).api, can)
	if err != nil {
		return nil, nil, err
	}
	k, err := json.Marshal(t)
	return text, k, err
}
