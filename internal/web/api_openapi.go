package web

import (
	_ "embed"
	"net/http"
)

// openAPI is the API's OpenAPI 3 description, written by hand; a test
// checks that its paths are exactly the routes apiRouteTable registers.
//
//go:embed openapi.json
var openAPI []byte

// serveOpenAPI answers GET /api/v1/openapi.json. It needs no token: the
// description holds no data, only what the README says too, and tools
// (code generators, the CI's check) fetch it without credentials.
func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPI)
}
