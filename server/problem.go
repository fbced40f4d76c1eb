package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/config"
)

// problem is an RFC 9457 problem detail. Field and Valid are extension members: the
// request field at fault (a JSON path such as "values[1]" or a query parameter) and what
// it accepts.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Instance  string `json:"instance,omitempty"`
	Field     string `json:"field,omitempty"`
	Valid     string `json:"valid,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// problemBase prefixes the problem types: URNs that name problems (nothing to fetch).
const problemBase = "urn:retune:problem:"

// fieldError is a request field that is missing or invalid.
type fieldError struct {
	Field, Msg, Valid string
	Status            int // default 422
}

func (e *fieldError) Error() string {
	if e.Valid != "" {
		return fmt.Sprintf("%s: %s: want %s", e.Field, e.Msg, e.Valid)
	}
	return e.Field + ": " + e.Msg
}

func invalid(field, valid, format string, args ...any) error {
	return &fieldError{Field: field, Msg: fmt.Sprintf(format, args...), Valid: valid}
}

// httpError is an error with a status of its own and a problem type.
type httpError struct {
	Status int
	Type   string
	Msg    string
}

func (e *httpError) Error() string { return e.Msg }

func errorf(status int, typ, format string, args ...any) error {
	return &httpError{Status: status, Type: typ, Msg: fmt.Sprintf(format, args...)}
}

// toProblem maps an error to its problem: the one place where errors become statuses.
// Errors that are not the caller's become a generic 500; the caller logs them.
func toProblem(err error) (problem, bool) {
	var (
		fe *fieldError
		he *httpError
		ce *config.Error
		mb *http.MaxBytesError
	)
	switch {
	case errors.As(err, &fe):
		st := fe.Status
		if st == 0 {
			st = http.StatusUnprocessableEntity
		}
		return problem{Type: problemBase + "invalid-field", Title: "Invalid request field", Status: st, Detail: fe.Error(), Field: fe.Field, Valid: fe.Valid}, true
	case errors.As(err, &he):
		return problem{Type: problemBase + he.Type, Title: http.StatusText(he.Status), Status: he.Status, Detail: he.Msg}, true
	case errors.As(err, &mb):
		return problem{Type: problemBase + "body-too-large", Title: "Request body too large", Status: http.StatusRequestEntityTooLarge,
			Detail: fmt.Sprintf("the request body is over %d bytes", mb.Limit), Valid: fmt.Sprintf("at most %d bytes", mb.Limit)}, true
	case errors.As(err, &ce):
		field := "definition"
		if ce.Field != "" {
			field += "." + ce.Field
		}
		return problem{Type: problemBase + "invalid-definition", Title: "Invalid study definition", Status: http.StatusUnprocessableEntity,
			Detail: ce.Msg, Field: field}, true
	case errors.Is(err, retune.ErrBudgetExhausted):
		return problem{Type: problemBase + "budget-exhausted", Title: "Study budget exhausted", Status: http.StatusConflict, Detail: cut(err)}, true
	case errors.Is(err, retune.ErrGridExhausted):
		return problem{Type: problemBase + "grid-exhausted", Title: "Grid exhausted", Status: http.StatusConflict, Detail: cut(err)}, true
	case errors.Is(err, retune.ErrNotFound):
		return problem{Type: problemBase + "not-found", Title: "Not found", Status: http.StatusNotFound, Detail: cut(err)}, true
	case errors.Is(err, retune.ErrConflict):
		return problem{Type: problemBase + "conflict", Title: "Conflict", Status: http.StatusConflict, Detail: cut(err)}, true
	case errors.Is(err, retune.ErrInvalid):
		return problem{Type: problemBase + "invalid", Title: "Invalid request", Status: http.StatusUnprocessableEntity, Detail: cut(err)}, true
	}
	return problem{Type: problemBase + "internal", Title: "Internal server error", Status: http.StatusInternalServerError,
		Detail: "the server failed; the request ID names it in the server's log"}, false
}

// cut is err's message without the "retune: " of the sentinels.
func cut(err error) string {
	return strings.ReplaceAll(err.Error(), "retune: ", "")
}

// writeProblem writes err as problem+json, logging it if it is the server's.
func writeProblem(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) (int, []byte) {
	p, known := toProblem(err)
	p.Instance = r.URL.Path
	p.RequestID = requestID(r.Context())
	if !known {
		log.ErrorContext(r.Context(), "request failed", "request_id", p.RequestID, "err", err)
	}
	body, _ := json.Marshal(p)
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="retune"`)
	}
	writeRaw(w, p.Status, "application/problem+json", body)
	return p.Status, body
}

func writeRaw(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
