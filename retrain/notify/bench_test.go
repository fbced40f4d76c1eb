package notify_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain/notify"
)

// BenchmarkDispatch measures events per second from the outbox to a webhook receiver on
// loopback: b.N events are stored (one delivery each), then a dispatcher delivers them
// all and records every attempt. "alone" has only the receiver's notifier; the others add
// a second notifier, for every event too, whose endpoint answers at once ("with-healthy"),
// hangs 2 s per request ("with-slow") or refuses connections ("with-dead"), and report the
// first notifier's rate. A slow or dead endpoint must cost the others no more than a
// healthy one does (the database's write capacity is shared; the endpoints' time is not).
//
//	go test -run '^$' -bench Dispatch -benchtime 2000x ./retrain/notify/
func BenchmarkDispatch(b *testing.B) {
	for _, name := range []string{"sqlite", "postgres"} {
		for _, other := range []string{"alone", "with-healthy", "with-slow", "with-dead"} {
			b.Run(name+"/"+other, func(b *testing.B) {
				open, ok := backends(b)[name]
				if !ok {
					b.Skip("RETUNE_TEST_POSTGRES not set")
				}
				var got atomic.Int64
				fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					got.Add(1)
					w.WriteHeader(http.StatusNoContent)
				}))
				defer fast.Close()
				secret := notify.NewSecret()
				notifiers := map[string]notify.Notifier{"fast": &notify.Webhook{URL: fast.URL, AllowPrivate: true, Secrets: []string{secret}}}
				ids := []string{"fast"}
				switch other {
				case "with-healthy":
					healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
					defer healthy.Close()
					notifiers["healthy"] = &notify.Webhook{URL: healthy.URL, AllowPrivate: true, Secrets: []string{secret}}
					ids = append(ids, "healthy")
				case "with-slow":
					release := make(chan struct{})
					slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						select {
						case <-release:
						case <-time.After(2 * time.Second):
						}
					}))
					defer slow.Close()
					defer close(release)
					notifiers["slow"] = &notify.Webhook{URL: slow.URL, AllowPrivate: true, Secrets: []string{secret}, Timeout: 5 * time.Second}
					ids = append(ids, "slow")
				case "with-dead":
					dead := httptest.NewServer(http.NotFoundHandler())
					url := dead.URL
					dead.Close() // connections are refused from now on
					notifiers["dead"] = &notify.Webhook{URL: url, AllowPrivate: true, Secrets: []string{secret}}
					ids = append(ids, "dead")
				}
				ds := open(b)
				const batch = 500
				for i := 0; i < b.N; i += batch {
					evs := make([]retune.Event, 0, batch)
					for j := i; j < min(i+batch, b.N); j++ {
						evs = append(evs, retune.Event{ID: fmt.Sprintf("%s-%d", b.Name(), j), Type: retune.TypeStudyCompleted,
							Source: "/retune/studies/bench", Notify: ids, Data: []byte(`{"trials":100}`)})
					}
					if err := ds.AppendEvents(b.Context(), evs); err != nil {
						b.Fatal(err)
					}
				}
				d := &notify.Dispatcher{Store: ds, Notifiers: notifiers, Poll: 5 * time.Millisecond, Parallel: 8}
				ctx, cancel := context.WithCancel(b.Context())
				b.ResetTimer()
				start := time.Now()
				done := make(chan struct{})
				go func() { d.Run(ctx); close(done) }()
				for got.Load() < int64(b.N) {
					time.Sleep(time.Millisecond)
				}
				el := time.Since(start)
				b.StopTimer()
				cancel()
				<-done
				b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
			})
		}
	}
}
