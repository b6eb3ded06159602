package framework

import (
	"encoding/json"

	"github.com/autoapi-go/autoapi/internal/openapi"
)

// FullDocument returns a's whole OpenAPI document, as DocumentFull serves
// it, whatever a's mode.
func FullDocument(a *App) ([]byte, error) {
	doc, err := openapi.Build(a.newDocuments(a.table()).api, nil)
	if err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}
