package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/check"
	"github.com/a6b40afc/retune/retrain/notify"
)

// Notifier is one entry of a file's notifiers section: where the events the study names it
// for are delivered. Only the dispatcher's local files define notifiers; events in the
// database name them by ID.
//
//	notifiers:
//	  retrain-hook: {type: webhook, url: "https://ml.example.com/hooks/retune", secret_env: RETRAIN_HOOK_SECRET}
//	  bus:          {type: nats, url: "nats://127.0.0.1:4222", subject: retune.events, create_stream: true}
//	  on-event:     {type: exec, command: ["./on-event.sh"], timeout: 1m}
//	  audit:        {type: log, path: events.jsonl}   # path "" or "-": standard error
//	notify: [retrain-hook, bus]                       # IDs the study's events name; default: all
type Notifier struct {
	ID   string
	Type string // webhook, exec, nats or log
	Line int    // where the file defines it

	URL string // webhook, nats
	// SecretEnv names the environment variables holding the webhook's whsec_ secrets;
	// during rotation, the new one and the old one (each request carries both signatures).
	SecretEnv []string
	Timeout   time.Duration // webhook, exec, nats; 0: the notifier's default
	// AllowPrivate lets a webhook reach loopback, private and link-local addresses
	// (allow_private: true); by default only public ones (notify.Webhook.AllowPrivate).
	AllowPrivate bool

	// Command (exec) is run directly, not through a shell; a relative program path with a
	// slash ("./on-event.sh") is made absolute against Dir, the absolute working directory
	// (in the file, relative to its folder; default the file's folder).
	Command []string
	Dir     string

	Subject         string        // nats
	Stream          string        // nats: default the stream storing Subject, else notify.DefaultNATSStream(Subject)
	CreateStream    bool          // nats
	DuplicateWindow time.Duration // nats: of a created stream

	Path string // log: file appended to; "" or "-" for standard error
}

var notifierTypes = map[string][]string{
	"webhook": {"type", "url", "secret_env", "timeout", "allow_private"},
	"exec":    {"type", "command", "dir", "timeout"},
	"nats":    {"type", "url", "subject", "stream", "create_stream", "duplicate_window", "timeout"},
	"log":     {"type", "path"},
}

// notifiers parses a notifiers section.
func (p *parser) notifiers(n *yaml.Node) []Notifier {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "notifiers", "want a mapping of ID: {type, …}, got %s", describe(n))
		return nil
	}
	var out []Notifier
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := "notifiers." + k.Value
		if err := check.NotifierID(k.Value); err != nil {
			p.errorf(k, field, "%v", unwrapInvalid(err))
			continue
		}
		if seen[k.Value] {
			p.errorf(k, field, "given twice")
			continue
		}
		seen[k.Value] = true
		nt := Notifier{ID: k.Value, Line: k.Line}
		if v.Kind != yaml.MappingNode {
			p.errorf(v, field, "want a mapping with type (webhook, exec, nats or log) and its settings, got %s", describe(v))
			continue
		}
		for j := 0; j+1 < len(v.Content); j += 2 {
			if v.Content[j].Value == "type" {
				nt.Type, _ = p.str(v.Content[j+1], field+".type")
			}
		}
		keys, ok := notifierTypes[nt.Type]
		if !ok {
			p.errorf(v, field+".type", "%q: want webhook, exec, nats or log", nt.Type)
			continue
		}
		f := p.fields(v, field, keys...)
		str := func(key string) string {
			if x, ok := f[key]; ok {
				s, _ := p.str(x, field+"."+key)
				return s
			}
			return ""
		}
		need := func(key, what string) string {
			if _, ok := f[key]; !ok {
				p.errorf(v, field+"."+key, "missing: want %s", what)
				return ""
			}
			return str(key)
		}
		if x, ok := f["timeout"]; ok {
			nt.Timeout, _ = p.duration(x, field+".timeout")
		}
		switch nt.Type {
		case "webhook":
			nt.URL = need("url", "the endpoint's http or https URL")
			if u, err := url.Parse(nt.URL); nt.URL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
				p.errorf(f["url"], field+".url", "%q: want an absolute http or https URL", nt.URL)
			}
			if x, ok := f["allow_private"]; ok {
				nt.AllowPrivate, _ = p.bool(x, field+".allow_private")
			}
			if x, ok := f["secret_env"]; ok {
				nt.SecretEnv = p.envNames(x, field+".secret_env")
			} else {
				p.errorf(v, field+".secret_env", "missing: want the environment variable holding the signing secret (whsec_…; `retune notifiers secret` makes one)")
			}
		case "exec":
			if x, ok := f["command"]; !ok {
				p.errorf(v, field+".command", `missing: want the program and its arguments as a list, e.g. ["./on-event.sh"]`)
			} else if nt.Command = p.strings(x, field+".command"); x.Kind == yaml.SequenceNode && len(nt.Command) == 0 {
				p.errorf(x, field+".command", "empty: want the program and its arguments")
			}
			nt.Dir = fileDir(p.file)
			if d := str("dir"); d != "" {
				nt.Dir = relativeTo(p.file, d)
			}
			if len(nt.Command) > 0 && strings.Contains(nt.Command[0], "/") && !filepath.IsAbs(nt.Command[0]) {
				nt.Command[0] = filepath.Join(nt.Dir, nt.Command[0])
			}
		case "nats":
			nt.URL = need("url", "the server URL, e.g. nats://127.0.0.1:4222")
			nt.Subject = need("subject", "the subject to publish to, e.g. retune.events")
			nt.Stream = str("stream")
			if x, ok := f["create_stream"]; ok {
				nt.CreateStream, _ = p.bool(x, field+".create_stream")
			}
			if x, ok := f["duplicate_window"]; ok {
				nt.DuplicateWindow, _ = p.duration(x, field+".duplicate_window")
			}
		case "log":
			nt.Path = str("path")
			if nt.Path != "" && nt.Path != "-" {
				nt.Path = relativeTo(p.file, nt.Path)
			}
		}
		out = append(out, nt)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// notify parses the notify list against the file's notifiers.
func (p *parser) notify(n *yaml.Node, defined []Notifier) []string {
	ids := p.strings(n, "notify")
	for i, id := range ids {
		found := false
		for _, d := range defined {
			found = found || d.ID == id
		}
		if !found {
			var names []string
			for _, d := range defined {
				names = append(names, d.ID)
			}
			valid := "none is defined: add a notifiers section"
			if len(names) > 0 {
				valid = "defined are " + strings.Join(names, ", ")
			}
			p.errorf(n, fmt.Sprintf("notify[%d]", i), "%q is not a notifier of this file: %s", id, valid)
		}
		for _, prev := range ids[:i] {
			if prev == id {
				p.errorf(n, fmt.Sprintf("notify[%d]", i), "%q is listed twice", id)
			}
		}
	}
	return ids
}

// LoadNotifiers reads the notifiers sections of files: study files, or files with only a
// notifiers section (and optionally secret_env). An ID defined by two files is an error.
// secretEnv holds the files' top-level secret_env names, for BuildNotifiers.
func LoadNotifiers(paths ...string) (ns []Notifier, secretEnv []string, err error) {
	var (
		out  []Notifier
		errs []error
		by   = map[string]string{}
	)
	for _, path := range paths {
		ns, se, err := loadNotifierFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		secretEnv = append(secretEnv, se...)
		for _, n := range ns {
			if prev, dup := by[n.ID]; dup {
				errs = append(errs, &Error{File: path, Line: n.Line, Field: "notifiers." + n.ID, Msg: "also defined in " + prev + ": want each notifier ID once"})
				continue
			}
			by[n.ID] = path
			out = append(out, n)
		}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return out, secretEnv, nil
}

func loadNotifierFile(path string) ([]Notifier, []string, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		s, err := Parse(path, data) // for its error message
		if err != nil {
			return nil, nil, err
		}
		return s.Notifiers, s.SecretEnv, nil
	}
	root := doc.Content[0]
	for i := 0; i < len(root.Content); i += 2 {
		if root.Content[i].Value == "command" { // a study file: validate all of it
			s, err := Parse(path, data)
			if err != nil {
				return nil, nil, err
			}
			return s.Notifiers, s.SecretEnv, nil
		}
	}
	p := &parser{file: path}
	f := p.fields(root, "", "notifiers", "secret_env")
	var out []Notifier
	var secretEnv []string
	if n, ok := f["notifiers"]; ok {
		out = p.notifiers(n)
	} else if f != nil {
		p.errorf(root, "notifiers", "missing: want a notifiers section (or a study file)")
	}
	if n, ok := f["secret_env"]; ok {
		secretEnv = p.envNames(n, "secret_env")
	}
	if len(p.errs) > 0 {
		return nil, nil, errors.Join(p.errs...)
	}
	return out, secretEnv, nil
}

// Build makes the notifier. A webhook's secrets are read from the environment now; a log
// file is opened for appending, and closed by the returned func (a no-op for the others).
// secretEnv names every secret variable of the configuration, kept from exec commands.
func (n Notifier) Build(secretEnv []string) (notify.Notifier, func() error, error) {
	noop := func() error { return nil }
	switch n.Type {
	case "webhook":
		var secrets []string
		for _, e := range n.SecretEnv {
			v := os.Getenv(e)
			if v == "" {
				return nil, nil, fmt.Errorf("%w: notifier %q: environment variable %s is not set: want the webhook's whsec_ signing secret in it",
					retune.ErrInvalid, n.ID, e)
			}
			secrets = append(secrets, v)
		}
		if _, err := notify.Sign(secrets, "check", time.Now(), nil); err != nil {
			return nil, nil, fmt.Errorf("notifier %q: secret from %s: %w", n.ID, strings.Join(n.SecretEnv, ", "), err)
		}
		return &notify.Webhook{URL: n.URL, Secrets: secrets, Timeout: n.Timeout, AllowPrivate: n.AllowPrivate}, noop, nil
	case "exec":
		return &notify.Exec{Command: n.Command, Dir: n.Dir, Timeout: n.Timeout, Secrets: secretEnv}, noop, nil
	case "nats":
		nc := &notify.NATS{URL: n.URL, Subject: n.Subject, Stream: n.Stream, CreateStream: n.CreateStream,
			DuplicateWindow: n.DuplicateWindow, Timeout: n.Timeout}
		return nc, func() error { nc.Close(); return nil }, nil
	case "log":
		if n.Path == "" || n.Path == "-" {
			return &notify.Log{W: os.Stderr}, noop, nil
		}
		f, err := os.OpenFile(n.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, nil, fmt.Errorf("notifier %q: %w", n.ID, err)
		}
		return &notify.Log{W: f}, f.Close, nil
	}
	return nil, nil, fmt.Errorf("%w: notifier %q: type %q: want webhook, exec, nats or log", retune.ErrInvalid, n.ID, n.Type)
}

// BuildNotifiers builds every notifier; the returned func closes them. Exec notifiers'
// commands see none of the variables named by secretEnv (a study file's secret_env) or by
// any notifier's secret_env.
func BuildNotifiers(ns []Notifier, secretEnv ...string) (map[string]notify.Notifier, func() error, error) {
	secretEnv = slices.Clone(secretEnv)
	for _, n := range ns {
		secretEnv = append(secretEnv, n.SecretEnv...)
	}
	out := map[string]notify.Notifier{}
	var closers []func() error
	closeAll := func() error {
		var errs []error
		for _, c := range closers {
			errs = append(errs, c())
		}
		return errors.Join(errs...)
	}
	for _, n := range ns {
		b, c, err := n.Build(secretEnv)
		if err != nil {
			_ = closeAll()
			return nil, nil, err
		}
		out[n.ID], closers = b, append(closers, c)
	}
	return out, closeAll, nil
}
