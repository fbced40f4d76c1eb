package notify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/a6b40afc/retune"
)

// ContentType is the media type of a CloudEvent in structured JSON mode.
const ContentType = "application/cloudevents+json"

// envelope is the JSON form of a CloudEvent. Optional attributes that are unset are omitted.
type envelope struct {
	SpecVersion     string          `json:"specversion"`
	ID              string          `json:"id"`
	Source          string          `json:"source"`
	Type            string          `json:"type"`
	Subject         string          `json:"subject,omitempty"`
	Time            string          `json:"time,omitempty"`
	DataContentType string          `json:"datacontenttype,omitempty"`
	Data            json.RawMessage `json:"data,omitempty"`
}

// Structured returns e as a CloudEvents 1.0 event in the JSON format, the body of a
// structured-mode message (media type [ContentType]).
//
// The attributes are specversion "1.0", id, source, type, subject (omitted if empty) and
// time (RFC 3339 in UTC, omitted if zero). When e.Data is not empty it is embedded as the
// JSON value of "data", with datacontenttype "application/json". An event without ID,
// Source or Type, with Data that is not valid JSON, or with a Time outside years 0–9999
// gives an error wrapping [retune.ErrInvalid].
func Structured(e retune.Event) ([]byte, error) {
	switch {
	case e.ID == "":
		return nil, fmt.Errorf("cloudevent: missing id: %w", retune.ErrInvalid)
	case e.Source == "":
		return nil, fmt.Errorf("cloudevent %q: missing source: %w", e.ID, retune.ErrInvalid)
	case e.Type == "":
		return nil, fmt.Errorf("cloudevent %q: missing type: %w", e.ID, retune.ErrInvalid)
	}
	env := envelope{SpecVersion: "1.0", ID: e.ID, Source: e.Source, Type: e.Type, Subject: e.Subject}
	if !e.Time.IsZero() {
		t := e.Time.UTC()
		if y := t.Year(); y < 0 || y > 9999 {
			return nil, fmt.Errorf("cloudevent %q: time %v outside years 0-9999: %w", e.ID, t, retune.ErrInvalid)
		}
		env.Time = t.Format(time.RFC3339Nano)
	}
	if len(e.Data) > 0 {
		if !json.Valid(e.Data) {
			return nil, fmt.Errorf("cloudevent %q: data is not valid JSON: %w", e.ID, retune.ErrInvalid)
		}
		env.DataContentType = "application/json"
		env.Data = e.Data
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(env); err != nil {
		return nil, fmt.Errorf("cloudevent %q: %w", e.ID, err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
