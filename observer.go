package retune

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Observer is told when a run's best trial beats the study's baseline: the "retraining
// required" notice. Observers are called concurrently, each with its own timeout; a slow,
// failing or panicking observer delays or breaks none of the others. OnImprovement should
// return when ctx is done; one that does not is abandoned at the deadline (its goroutine
// finishes on its own) and reported as timed out.
type Observer interface {
	OnImprovement(ctx context.Context, best FrozenTrial) error
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(ctx context.Context, best FrozenTrial) error

// OnImprovement implements Observer.
func (f ObserverFunc) OnImprovement(ctx context.Context, best FrozenTrial) error {
	return f(ctx, best)
}

// AddObserver registers an observer for the improvements of later Optimize runs.
func (s *Study) AddObserver(o Observer) {
	s.obsMu.Lock()
	defer s.obsMu.Unlock()
	s.observers = append(s.observers, o)
}

// Notify calls every observer concurrently with best, each under timeout (0 = 30s), and
// returns their errors and how many were abandoned at the deadline. Optimize calls it when
// a run beats the baseline; a retraining decision that says improved calls it too.
func (s *Study) Notify(ctx context.Context, best FrozenTrial, timeout time.Duration) (errs []error, abandoned int) {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	var n atomic.Int64
	errs = s.notify(ctx, best, timeout, &n)
	return errs, int(n.Load())
}

// beatsBaseline reports whether v improves on the configured baseline (any value does
// when there is none).
func (s *Study) beatsBaseline(v float64) bool {
	return s.baseline == nil || s.rec.Directions[0].Better(v, *s.baseline)
}

// notify calls every observer concurrently with best, each under its own timeout, and
// returns their errors. It returns by the deadline even if an observer ignores ctx; such
// observers are counted in abandoned.
func (s *Study) notify(ctx context.Context, best FrozenTrial, timeout time.Duration, abandoned *atomic.Int64) []error {
	s.obsMu.Lock()
	obs := append([]Observer(nil), s.observers...)
	s.obsMu.Unlock()
	errs := make([]error, len(obs))
	var wg sync.WaitGroup
	for i, o := range obs {
		wg.Go(func() {
			octx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				defer func() {
					if r := recover(); r != nil {
						done <- fmt.Errorf("observer %d panicked: %v\n%s", i, r, debug.Stack())
					}
				}()
				done <- o.OnImprovement(octx, best)
			}()
			select {
			case err := <-done:
				if err != nil {
					errs[i] = fmt.Errorf("observer %d: %w", i, err)
				}
			case <-octx.Done():
				select {
				case err := <-done: // returned promptly on cancellation
					if err != nil {
						errs[i] = fmt.Errorf("observer %d: %w", i, err)
					}
				case <-time.After(settleGrace):
					abandoned.Add(1)
					errs[i] = fmt.Errorf("observer %d: no answer within %v: %w", i, timeout, context.Cause(octx))
				}
			}
		})
	}
	wg.Wait()
	out := errs[:0]
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// Subscribe returns a channel that receives every trial this Study handle finishes, and a
// function that ends the subscription and closes the channel. Delivery is best-effort by
// design: sends never block the optimize loop, so when the channel's buffer is full the
// newest trial is dropped for that subscriber (Dropped counts drops). Use a buffer as
// large as the bursts you expect; durable delivery is the retraining outbox's job.
func (s *Study) Subscribe(buffer int) (<-chan FrozenTrial, func()) {
	if buffer < 0 {
		buffer = 0
	}
	sub := &subscriber{ch: make(chan FrozenTrial, buffer)}
	s.subMu.Lock()
	if s.subs == nil {
		s.subs = make(map[*subscriber]struct{})
	}
	s.subs[sub] = struct{}{}
	s.subMu.Unlock()
	var once sync.Once
	return sub.ch, func() {
		once.Do(func() {
			s.subMu.Lock()
			delete(s.subs, sub)
			close(sub.ch)
			s.subMu.Unlock()
		})
	}
}

// Dropped returns how many trials subscribers missed because their buffers were full.
func (s *Study) Dropped() uint64 {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	return s.dropped
}

type subscriber struct{ ch chan FrozenTrial }

func (s *Study) publish(ft FrozenTrial) {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	for sub := range s.subs {
		select {
		case sub.ch <- ft:
		default:
			s.dropped++
		}
	}
}
