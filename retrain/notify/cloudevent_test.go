package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
)

func TestStructuredRoundTrip(t *testing.T) {
	t.Parallel()
	zone := time.FixedZone("UTC+2", 2*60*60)
	e := retune.Event{
		ID:      "4f1c2a9e-0b7d-4c1e-9a55-3b8f7e6d2c10",
		Type:    retune.TypeChampionPromoted,
		Source:  "/retune/models/digits",
		Subject: "champions/3",
		Time:    time.Date(2026, 3, 4, 7, 8, 9, 123456000, zone),
		Data:    json.RawMessage(`{"model": "digits", "version": 3, "note": "<a & b>", "values": [0.97, null]}`),
	}
	b, err := Structured(e)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		SpecVersion     string `json:"specversion"`
		ID              string `json:"id"`
		Source          string `json:"source"`
		Type            string `json:"type"`
		Subject         string `json:"subject"`
		Time            string `json:"time"`
		DataContentType string `json:"datacontenttype"`
		Data            any    `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"specversion", got.SpecVersion, "1.0"},
		{"id", got.ID, e.ID},
		{"source", got.Source, e.Source},
		{"type", got.Type, e.Type},
		{"subject", got.Subject, e.Subject},
		{"time", got.Time, "2026-03-04T05:08:09.123456Z"},
		{"datacontenttype", got.DataContentType, "application/json"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	tm, err := time.Parse(time.RFC3339, got.Time)
	if err != nil || !tm.Equal(e.Time) {
		t.Errorf("time %q parses to %v (%v), want %v", got.Time, tm, err, e.Time)
	}
	// data is the event's JSON value itself, not a string or base64.
	var want any
	if err := json.Unmarshal(e.Data, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Data, want) {
		t.Errorf("data = %#v, want %#v", got.Data, want)
	}
	if !bytes.Contains(b, []byte(`"note":"<a & b>"`)) {
		t.Errorf("Structured = %s, want data embedded without HTML escaping", b)
	}
	if bytes.HasSuffix(b, []byte("\n")) {
		t.Errorf("Structured = %q, want no trailing newline", b)
	}
}

func TestStructuredOptional(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data json.RawMessage
		want string
	}{
		{"no data", nil,
			`{"specversion":"1.0","id":"e1","source":"retune/study/s","type":"dev.retune.study.completed.v1"}`},
		{"null data", json.RawMessage(`null`),
			`{"specversion":"1.0","id":"e1","source":"retune/study/s","type":"dev.retune.study.completed.v1","datacontenttype":"application/json","data":null}`},
		{"string data", json.RawMessage(` "done" `),
			`{"specversion":"1.0","id":"e1","source":"retune/study/s","type":"dev.retune.study.completed.v1","datacontenttype":"application/json","data":"done"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := retune.Event{ID: "e1", Source: "retune/study/s", Type: retune.TypeStudyCompleted, Data: tt.data}
			b, err := Structured(e)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Errorf("Structured = %s, want %s", b, tt.want)
			}
		})
	}
}

func TestStructuredInvalid(t *testing.T) {
	t.Parallel()
	valid := retune.Event{ID: "e1", Source: "s", Type: "t"}
	tests := []struct {
		name   string
		modify func(*retune.Event)
	}{
		{"no id", func(e *retune.Event) { e.ID = "" }},
		{"no source", func(e *retune.Event) { e.Source = "" }},
		{"no type", func(e *retune.Event) { e.Type = "" }},
		{"data not JSON", func(e *retune.Event) { e.Data = json.RawMessage(`{"a":`) }},
		{"time out of range", func(e *retune.Event) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := valid
			tt.modify(&e)
			b, err := Structured(e)
			if !errors.Is(err, retune.ErrInvalid) {
				t.Errorf("Structured = %s, %v; want an error wrapping retune.ErrInvalid", b, err)
			}
		})
	}
}
