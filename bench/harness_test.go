package bench

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/a6b40afc/retune"
)

func TestNewSamplerSpec(t *testing.T) {
	t.Parallel()
	smp, err := NewSampler(`{"name": "auto", "options": {"nsga2_trials": 120}}`)
	if err != nil {
		t.Fatal(err)
	}
	spec := smp.(retune.Specer).Spec()
	if spec.Name != "auto" || spec.Options["nsga2_trials"] != 120 {
		t.Errorf("spec %+v, want auto with nsga2_trials 120", spec)
	}
	// A spec with the defaults builds the registered sampler: the same trials, seed by seed.
	a, err := MultiObjective(context.Background(), "dtlz2-3", `{"name": "tpe"}`, 30, 2)
	if err != nil {
		t.Fatal(err)
	}
	b, err := MultiObjective(context.Background(), "dtlz2-3", "tpe", 30, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Hypervolume, b.Hypervolume) {
		t.Errorf("tpe from its spec: hypervolumes %v, registered tpe %v", a.Hypervolume, b.Hypervolume)
	}
	for _, c := range []struct {
		name, want string
		invalid    bool // wraps retune.ErrInvalid
	}{
		{`{"name": "auto", "options": {"nsga2_trials": 120}`, "sampler spec", false},
		{`{"name": "auto", "option": {}}`, "unknown field", false},
		{`{"name": "autox"}`, "unknown sampler", true},
		{`{"name": "auto", "options": {"nsga2_trial": 1}}`, "nsga2_trial", true},
		{"tpx", "JSON spec", false},
	} {
		_, err := NewSampler(c.name)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewSampler(%s) = %v, want an error naming %q", c.name, err, c.want)
		}
		if c.invalid && !errors.Is(err, retune.ErrInvalid) {
			t.Errorf("NewSampler(%s) = %v, want retune.ErrInvalid", c.name, err)
		}
	}
}
