package framework

import (
	"github.com/autoapi-go/autoapi/internal/openapi"
)

// FullDocument returns a's whole OpenAPI document, as DocumentFull serves
// it, whatever a's mode.
func FullDocument(a *App) ([]byte, error) {
	_, text, err := openapi.Build(a.newDocuments(a.table()).api, nil)
	return text, err
}
