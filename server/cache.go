package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/config"
	"github.com/a6b40afc/retune/pruner"
	"github.com/a6b40afc/retune/sampler"
)

// builtStudy is a study rebuilt from its stored record, with its sampler and pruner.
type builtStudy struct {
	key   string // what it was built from (see cacheKey)
	study *retune.Study
	def   *config.Study // the stored definition; nil if the study has none
}

// studyCache keeps the studies a replica built, by name. An entry is used only while the
// stored study is the one it was built from (same ID, definition, sampler and pruner):
// every request reads the study's record first. A retune.Study handle reads the trials
// others finished before it samples, so a cached handle proposes what a new one would.
type studyCache struct {
	mu sync.Mutex
	m  map[string]*builtStudy
}

func cacheKey(rec retune.StudyRecord) string {
	smp, _ := json.Marshal(rec.Sampler)
	pr, _ := json.Marshal(rec.Pruner)
	h := sha256.Sum256(rec.Definition)
	return fmt.Sprintf("%d|%x|%s|%s", rec.ID, h, smp, pr)
}

// open returns the study named name, built or from the cache.
func (s *Server) open(ctx context.Context, name string) (*builtStudy, error) {
	rec, err := s.store.Study(ctx, name)
	if err != nil {
		return nil, err
	}
	key := cacheKey(rec)
	s.studies.mu.Lock()
	b := s.studies.m[name]
	s.studies.mu.Unlock()
	if b != nil && b.key == key {
		return b, nil
	}
	b, err = s.build(ctx, rec, key)
	if err != nil {
		return nil, err
	}
	s.studies.mu.Lock()
	s.studies.m[name] = b
	s.studies.mu.Unlock()
	return b, nil
}

func (s *Server) forget(name string) {
	s.studies.mu.Lock()
	delete(s.studies.m, name)
	s.studies.mu.Unlock()
}

// build rebuilds a study from its record: the sampler and the pruner of their stored specs.
func (s *Server) build(ctx context.Context, rec retune.StudyRecord, key string) (*builtStudy, error) {
	b := &builtStudy{key: key}
	var (
		smp retune.Sampler
		pr  retune.Pruner
		err error
	)
	// The sampler and the pruner come from the stored specs, which hold every option in
	// effect, and not from the definition: a definition read like a study file would give
	// options it leaves out today's defaults (auto's rules, nsga2's selection,
	// extrapolate's rules), not the study's.
	smp, err = sampler.FromSpec(rec.Sampler)
	if err == nil && len(rec.Definition) > 0 {
		b.def, err = config.ParseDefinition("the stored definition of study "+strconv.Quote(rec.Name), rec.Definition)
	}
	if err == nil && rec.Pruner.Name != "" {
		pr, err = pruner.FromSpec(rec.Pruner)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: study %q cannot be rebuilt here: %v", retune.ErrConflict, rec.Name, err)
	}
	b.study, err = retune.NewStudy(ctx, retune.Config{
		Name: rec.Name, Directions: rec.Directions, Metrics: rec.Metrics, Model: rec.Model,
		Sampler: smp, Pruner: pr, Storage: s.store, Seed: rec.Seed, Budget: rec.Budget,
		LeaseTTL: s.opts.LeaseTTL,
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}
