// Package check validates the plain values that retune stores (names, attributes, texts,
// notifier IDs, trigger reasons) against their limits, and cuts texts to fit them. The
// root package's in-memory storage, SQLite and PostgreSQL all check with it, so that each
// accepts and rejects the same writes with the same errors. Errors wrap errs.ErrInvalid
// (retune.ErrInvalid).
package check

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/a6b40afc/retune/internal/errs"
)

// Limits, in bytes. Package retune exports the first four under the same names.
const (
	MaxNameLen      = 256
	MaxAttrKeyLen   = 256
	MaxAttrValueLen = 64 << 10 // of JSON
	MaxReasonLen    = 8 << 10  // longer fail reasons are cut (CutReason), keeping head and tail

	// MaxText bounds an event's ID, type, source and subject, and a dispatcher's name.
	MaxText = 1024
	// MaxNotifiers bounds the notifiers one event names.
	MaxNotifiers = 64
	// MaxNotifierID bounds a notifier ID.
	MaxNotifierID = 100
)

// Name checks a study, param or metric name: 1 to MaxNameLen bytes of printable UTF-8 with
// no leading or trailing space. kind names what it is in the error ("study", "param", …).
func Name(kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: %s name is empty: want 1 to %d printable characters", errs.ErrInvalid, kind, MaxNameLen)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: %s name %.40q… is %d bytes: want at most %d", errs.ErrInvalid, kind, name, len(name), MaxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %s name %q is not valid UTF-8", errs.ErrInvalid, kind, name)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%w: %s name %q has leading or trailing space", errs.ErrInvalid, kind, name)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: %s name %q has the unprintable character %U", errs.ErrInvalid, kind, name, r)
		}
	}
	return nil
}

// Attr checks an attribute: the key as Name, the value JSON-encodable, at most
// MaxAttrValueLen bytes of JSON.
func Attr(key string, value any) error {
	if err := Name("attribute", key); err != nil {
		return err
	}
	b, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("%w: attribute %q: value is not JSON-encodable: %v", errs.ErrInvalid, key, err)
	}
	if len(b) > MaxAttrValueLen {
		return fmt.Errorf("%w: attribute %q: value is %d bytes of JSON: want at most %d", errs.ErrInvalid, key, len(b), MaxAttrValueLen)
	}
	return nil
}

// Text checks an identifier-like text field: printable UTF-8 of at most max bytes, not
// empty if required. what names the field in the error.
func Text(what, s string, max int, required bool) error {
	switch {
	case s == "" && required:
		return fmt.Errorf("%w: %s is empty: want 1 to %d bytes of printable text", errs.ErrInvalid, what, max)
	case len(s) > max:
		return fmt.Errorf("%w: %s %.40q… is %d bytes: want at most %d", errs.ErrInvalid, what, s, len(s), max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s %q is not valid UTF-8", errs.ErrInvalid, what, s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("%w: %s %q has the unprintable character %U: want printable text", errs.ErrInvalid, what, s, r)
		}
	}
	return nil
}

// NotifierID checks a notifier ID: 1 to MaxNotifierID ASCII letters, digits, '.', '_' and
// '-', so that an ID reads the same in a config file, a database and a log line.
func NotifierID(id string) error {
	if id == "" || len(id) > MaxNotifierID {
		return fmt.Errorf("%w: notifier ID %.40q has %d bytes: want 1 to %d letters, digits, '.', '_' or '-'", errs.ErrInvalid, id, len(id), MaxNotifierID)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%w: notifier ID %q has %q: want letters, digits, '.', '_' or '-'", errs.ErrInvalid, id, r)
		}
	}
	return nil
}

// Notifiers checks the notifier IDs that what (an event, a decision's evidence, a
// redelivery) names: at most MaxNotifiers valid IDs, each once.
func Notifiers(what string, ids []string) error {
	if len(ids) > MaxNotifiers {
		return fmt.Errorf("%w: %s names %d notifiers: want at most %d", errs.ErrInvalid, what, len(ids), MaxNotifiers)
	}
	for i, id := range ids {
		if err := NotifierID(id); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if slices.Contains(ids[:i], id) {
			return fmt.Errorf("%w: %s names notifier %q twice: want each once", errs.ErrInvalid, what, id)
		}
	}
	return nil
}

// Redeliver checks the arguments of retune.DeliveryStore.Redeliver.
func Redeliver(eventID string, notifiers []string) error {
	if err := Text("redeliver: event ID", eventID, MaxText, true); err != nil {
		return err
	}
	return Notifiers(fmt.Sprintf("redeliver event %q", eventID), notifiers)
}

// EventsRead checks the arguments of retune.EventStore.Events.
func EventsRead(after int64, limit int) error {
	if after < 0 || limit < 0 {
		return fmt.Errorf("%w: events after %d, limit %d: want after >= 0 and limit >= 0 (0 = no limit)", errs.ErrInvalid, after, limit)
	}
	return nil
}

// Trigger checks the arguments of retune.TriggerStore.RequestRetune: a model name, and a
// reason of at most MaxReasonLen bytes of UTF-8 without NUL bytes.
func Trigger(model, reason string) error {
	if err := Name("model", model); err != nil {
		return fmt.Errorf("trigger: %w", err)
	}
	if len(reason) > MaxReasonLen {
		return fmt.Errorf("%w: trigger for model %q: reason of %d bytes: want at most %d", errs.ErrInvalid, model, len(reason), MaxReasonLen)
	}
	if !utf8.ValidString(reason) || bytes.IndexByte([]byte(reason), 0) >= 0 {
		return fmt.Errorf("%w: trigger for model %q: reason %.40q…: want valid UTF-8 without NUL bytes", errs.ErrInvalid, model, reason)
	}
	return nil
}

// CutUTF8 returns the longest prefix of s of at most n bytes that does not end inside a
// UTF-8 character.
func CutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && i > n-4 && s[i]&0xC0 == 0x80 {
		i--
	}
	return s[:i]
}

// CutReason shortens a fail reason to MaxReasonLen bytes, keeping its head and tail.
func CutReason(s string) string {
	if len(s) <= MaxReasonLen {
		return s
	}
	const mark = "\n… cut …\n"
	half := (MaxReasonLen - len(mark)) / 2
	head, tail := s[:half], s[len(s)-half:]
	for !utf8.ValidString(head) && len(head) > 0 {
		head = head[:len(head)-1]
	}
	for !utf8.ValidString(tail) && len(tail) > 0 {
		tail = tail[1:]
	}
	return head + mark + tail
}
