package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/a6b40afc/retune/server"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
)

// TestOpenAPIRoutes: the document served at /api/v1/openapi.json (without a token) is a
// valid OpenAPI 3.1 document whose paths and methods are exactly the router's routes.
func TestOpenAPIRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	r := e.do("", "GET", "/api/v1/openapi.json", nil)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET /api/v1/openapi.json = %d %s", r.status, r.header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	r.decode(t, &doc)
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", doc.OpenAPI)
	}
	var documented []string
	for p, item := range doc.Paths {
		for m := range item {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	srv, err := server.New(server.Options{Storage: e.store})
	if err != nil {
		t.Fatal(err)
	}
	routes := server.Routes(srv)
	slices.Sort(documented)
	slices.Sort(routes)
	if !slices.Equal(documented, routes) {
		t.Errorf("documented operations\n%s\nwant the routes\n%s", strings.Join(documented, "\n"), strings.Join(routes, "\n"))
	}
	v := openAPIValidator(t)
	if ok, errs := v.ValidateDocument(); !ok {
		for _, err := range errs {
			t.Errorf("document: %v", err)
		}
	}
}

var (
	validatorOnce sync.Once
	validatorMu   sync.Mutex // the validator is used by one request at a time
	apiValidator  validator.Validator
	validatorErr  error
)

// openAPIValidator returns the validator of the server's document, built once.
func openAPIValidator(t *testing.T) validator.Validator {
	t.Helper()
	validatorOnce.Do(func() {
		doc, err := libopenapi.NewDocument(server.OpenAPI())
		if err != nil {
			validatorErr = err
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			validatorErr = fmt.Errorf("%v", errs)
			return
		}
		apiValidator = v
	})
	if validatorErr != nil {
		t.Fatalf("OpenAPI validator: %v", validatorErr)
	}
	return apiValidator
}

// validating is a client transport that checks every API request the server accepted
// (2xx) and every API answer against the OpenAPI document: the tests of this package
// exercise the document with real traffic. Requests the server refused are not checked
// (many tests send invalid ones on purpose); their problem answers are.
type validating struct {
	t    *testing.T
	base http.RoundTripper
}

func (v *validating) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	check := r.Clone(r.Context())
	check.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := v.base.RoundTrip(r)
	if err != nil || !strings.HasPrefix(r.URL.Path, "/api/v1/") || strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return resp, err // an event stream never ends: not read here
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	if resp.StatusCode == http.StatusNotFound && bytes.Contains(rb, []byte("urn:retune:problem:no-route")) ||
		resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusMisdirectedRequest {
		return resp, nil // no operation of the document
	}
	val := openAPIValidator(v.t)
	check.Body = io.NopCloser(bytes.NewReader(body))
	checkResp := *resp
	checkResp.Body = io.NopCloser(bytes.NewReader(rb))
	validatorMu.Lock()
	defer validatorMu.Unlock()
	if resp.StatusCode < 300 {
		if ok, errs := val.ValidateHttpRequest(check); !ok {
			for _, e := range errs {
				v.t.Errorf("OpenAPI: request %s %s (%s): %s: %s", r.Method, r.URL, body, e.Message, e.Reason)
			}
		}
	}
	if ok, errs := val.ValidateHttpResponse(check, &checkResp); !ok {
		for _, e := range errs {
			v.t.Errorf("OpenAPI: answer %d to %s %s (%s): %s: %s", resp.StatusCode, r.Method, r.URL, rb, e.Message, e.Reason)
		}
	}
	return resp, nil
}
