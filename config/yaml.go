package config

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/a6b40afc/retune"
)

// The parser: reading YAML nodes into typed values, with errors at file:line:field.

type parser struct {
	file string
	def  bool // a study definition (ParseDefinition), not a study file
	errs []error
}

// dropLocal returns root without the local keys of a study file, reporting each: they
// stay on the machine that runs trials and never come with a definition.
func (p *parser) dropLocal(root *yaml.Node) *yaml.Node {
	if root.Kind != yaml.MappingNode {
		return root
	}
	out := &yaml.Node{Kind: yaml.MappingNode, Line: root.Line, Column: root.Column}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if contains(localKeys, k.Value) {
			p.errorf(k, k.Value, "not part of a study definition: it stays in the study file on the machine that runs the trials")
			continue
		}
		out.Content = append(out.Content, k, root.Content[i+1])
	}
	return out
}

func (p *parser) errorf(n *yaml.Node, field, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, args...)})
}

// fields checks that n is a mapping with only the allowed keys and returns its entries.
func (p *parser) fields(n *yaml.Node, field string, allowed ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "want a mapping of %s, got %s", strings.Join(allowed, ", "), describe(n))
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := join(field, k.Value)
		if !contains(allowed, k.Value) {
			p.errorf(k, name, "unknown key: valid keys here are %s", strings.Join(allowed, ", "))
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.errorf(k, name, "given twice")
			continue
		}
		out[k.Value] = v
	}
	return out
}

func join(parent, child string) string {
	if parent == "" {
		return child
	}
	return parent + "." + child
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			return "an empty list"
		}
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "nothing"
	}
	return strconv.Quote(n.Value)
}

func (p *parser) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, field, "want a string, got %s", describe(n))
		return "", false
	}
	return n.Value, true
}

func (p *parser) float(n *yaml.Node, field string) (float64, bool) {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!float" || n.Tag == "!!int") {
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return f, true
		}
	}
	p.errorf(n, field, "want a finite number, got %s", describe(n))
	return 0, false
}

func (p *parser) int(n *yaml.Node, field string, min int64) (int64, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err == nil && v >= min {
			return v, true
		}
	}
	p.errorf(n, field, "want a whole number >= %d, got %s", min, describe(n))
	return 0, false
}

// seed reads a seed: a whole number from 0 to 2^64-1, also as a string of digits (as
// definitions write seeds above 2^53, which JSON readers would round).
func (p *parser) seed(n *yaml.Node) (uint64, bool) {
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!str") {
		if v, err := strconv.ParseUint(strings.ReplaceAll(n.Value, "_", ""), 10, 64); err == nil {
			return v, true
		}
	}
	p.errorf(n, "seed", "want a whole number from 0 to 18446744073709551615, got %s", describe(n))
	return 0, false
}

func (p *parser) bool(n *yaml.Node, field string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
	}
	p.errorf(n, field, "want true or false, got %s", describe(n))
	return false, false
}

func (p *parser) duration(n *yaml.Node, field string) (time.Duration, bool) {
	if n.Kind == yaml.ScalarNode {
		if d, err := time.ParseDuration(n.Value); err == nil && d >= 0 {
			return d, true
		}
	}
	p.errorf(n, field, "want a duration such as 90s, 10m or 2h, got %s", describe(n))
	return 0, false
}

func (p *parser) strings(n *yaml.Node, field string) []string {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, field, "want a list of strings, got %s", describe(n))
		return nil
	}
	var out []string
	for i, c := range n.Content {
		if s, ok := p.str(c, fmt.Sprintf("%s[%d]", field, i)); ok {
			out = append(out, s)
		}
	}
	return out
}

// value decodes a scalar into string, int64, float64 or bool.
func (p *parser) value(n *yaml.Node, field string) (any, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		p.errorf(n, field, "want a string, number or boolean, got %s", describe(n))
		return nil, false
	}
	switch n.Tag {
	case "!!int":
		v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err == nil {
			return v, true
		}
	case "!!float":
		v, err := strconv.ParseFloat(n.Value, 64)
		if err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
			return v, true
		}
	case "!!bool":
		var b bool
		if n.Decode(&b) == nil {
			return b, true
		}
	case "!!str":
		return n.Value, true
	}
	p.errorf(n, field, "want a string, a finite number or a boolean, got %s", describe(n))
	return nil, false
}

// options decodes a mapping of scalar or list options.
func (p *parser) options(n *yaml.Node, field string) map[string]any {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, field, "want a mapping of options, got %s", describe(n))
		return nil
	}
	out := map[string]any{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var x any
		if err := v.Decode(&x); err != nil {
			p.errorf(v, join(field, k.Value), "%v", err)
			continue
		}
		out[k.Value] = x
	}
	return out
}

// envNames reads one environment variable's name or a list of them.
func (p *parser) envNames(n *yaml.Node, field string) []string {
	var names []string
	if n.Kind == yaml.SequenceNode {
		names = p.strings(n, field)
	} else if s, ok := p.str(n, field); ok {
		names = []string{s}
	}
	for _, e := range names {
		if e == "" || strings.ContainsAny(e, "= \t\n") {
			p.errorf(n, field, "%q: want an environment variable's name", e)
		}
	}
	return names
}

// readFile reads a configuration file of at most MaxFileSize bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: configuration file: %v", retune.ErrInvalid, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: configuration file %s: %v", retune.ErrInvalid, path, err)
	}
	if len(data) > MaxFileSize {
		return nil, &Error{File: path, Msg: fmt.Sprintf("file is larger than %d bytes", MaxFileSize)}
	}
	return data, nil
}

// relativeTo resolves a path in a study file against the file's folder (see fileDir).
func relativeTo(file, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(fileDir(file), p)
}

// fileDir returns the absolute folder of file (as it is if the working directory is
// unknown).
func fileDir(file string) string {
	dir := filepath.Dir(file)
	if abs, err := filepath.Abs(dir); err == nil {
		return abs
	}
	return dir
}

func unwrapInvalid(err error) string {
	return strings.TrimPrefix(err.Error(), retune.ErrInvalid.Error()+": ")
}
