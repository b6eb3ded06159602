package client

// The client is generated from the example's whole OpenAPI document, which
// `go run ./example openapi` writes, by oapi-codegen, pinned as a tool in
// go.mod. Run `go generate ./example/client` after changing the API; the
// example's TestGeneratedClientIsCurrent fails while these files are stale.

//go:generate go run .. openapi -o openapi.json
//go:generate go tool oapi-codegen -config oapi-codegen.yaml openapi.json
