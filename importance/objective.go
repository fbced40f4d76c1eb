package importance

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/a6b40afc/retune"
)

// Objective finds the objective of a study that want names: a metric name, an index, or
// "" for a study with one objective. It returns the index and the objective's name (its
// metric, "value" for an unnamed single objective, "objective I" otherwise); an objective
// that does not exist, or "" with several, is an error wrapping retune.ErrInvalid that
// lists the valid ones (an --objective flag or parameter chooses one).
func Objective(rec retune.StudyRecord, want string) (int, string, error) {
	n := len(rec.Directions)
	name := func(i int) string {
		switch {
		case i < len(rec.Metrics):
			return rec.Metrics[i]
		case n == 1:
			return "value"
		}
		return "objective " + strconv.Itoa(i)
	}
	names := make([]string, n)
	for i := range n {
		names[i] = name(i)
	}
	if want == "" {
		if n > 1 {
			return 0, "", fmt.Errorf("%w: study %q has %d objectives (%s): choose one with --objective", retune.ErrInvalid, rec.Name, n, strings.Join(names, ", "))
		}
		return 0, name(0), nil
	}
	for i := range n {
		if i < len(rec.Metrics) && rec.Metrics[i] == want {
			return i, want, nil
		}
	}
	if i, err := strconv.Atoi(want); err == nil && i >= 0 && i < n {
		return i, name(i), nil
	}
	return 0, "", fmt.Errorf("%w: study %q has no objective %q: want one of %s, or an index from 0 to %d", retune.ErrInvalid, rec.Name, want, strings.Join(names, ", "), n-1)
}
