package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/a6b40afc/retune"
)

// metrics are the server's Prometheus metrics, in a registry of its own (several servers
// in one process, as in tests, do not share counters).
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec   // by route and status code
	latency  *prometheus.HistogramVec // by route (not the event stream)
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "retune_http_requests_total", Help: "API requests answered, by route and status code.",
	}, []string{"route", "code"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "retune_http_request_duration_seconds", Help: "Time to answer an API request, by route (ask and tell included; not the event stream).",
		Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5},
	}, []string{"route"})
	m.reg.MustRegister(m.requests, m.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&storeCollector{s: s})
	return m
}

// observe records one answered request.
func (m *metrics) observe(rt route, status int, d time.Duration) {
	name := rt.method + " " + rt.pattern
	m.requests.WithLabelValues(name, strconv.Itoa(status)).Inc()
	if rt.doc.answers[http.StatusOK] != eventStream {
		m.latency.WithLabelValues(name).Observe(d.Seconds())
	}
}

// storeCollector reads what the storage holds at each scrape: trials by state per study,
// the delivery queue and its dead letters; and the open event streams and leadership.
type storeCollector struct{ s *Server }

var (
	trialsDesc     = prometheus.NewDesc("retune_trials", "Trials of each study, by state.", []string{"study", "state"}, nil)
	deliveriesDesc = prometheus.NewDesc("retune_deliveries", "Event deliveries by state: pending (the queue), dead (dead letters).", []string{"state"}, nil)
	streamsDesc    = prometheus.NewDesc("retune_stream_clients", "Open event streams (GET …/events) on this replica.", nil, nil)
	leaderDesc     = prometheus.NewDesc("retune_leader", "1 while this replica leads (decides and delivers; retune serve --retrain), else 0.", nil, nil)
	scrapeDesc     = prometheus.NewDesc("retune_metrics_storage_errors", "1 if reading the storage for this scrape failed.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- trialsDesc
	ch <- deliveriesDesc
	ch <- streamsDesc
	ch <- leaderDesc
	ch <- scrapeDesc
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	failed := 0.0
	sums, err := c.s.store.Studies(ctx)
	if err != nil {
		failed = 1
	}
	for _, sum := range sums {
		for state, n := range map[string]int{"WAITING": sum.Waiting, "RUNNING": sum.Running, "COMPLETE": sum.Complete, "PRUNED": sum.Pruned, "FAIL": sum.Failed} {
			ch <- prometheus.MustNewConstMetric(trialsDesc, prometheus.GaugeValue, float64(n), sum.Name, state)
		}
	}
	if ds, ok := c.s.store.(retune.DeliveryStore); ok {
		for _, st := range []retune.DeliveryState{retune.DeliveryPending, retune.DeliveryDead} {
			dels, err := ds.Deliveries(ctx, retune.DeliveryFilter{State: st})
			if err != nil {
				failed = 1
				continue
			}
			ch <- prometheus.MustNewConstMetric(deliveriesDesc, prometheus.GaugeValue, float64(len(dels)), string(st))
		}
	}
	ch <- prometheus.MustNewConstMetric(streamsDesc, prometheus.GaugeValue, float64(c.s.streamClients()))
	leads := 0.0
	if c.s.IsLeader() {
		leads = 1
	}
	ch <- prometheus.MustNewConstMetric(leaderDesc, prometheus.GaugeValue, leads)
	ch <- prometheus.MustNewConstMetric(scrapeDesc, prometheus.GaugeValue, failed)
}

// MetricsHandler serves the metrics in Prometheus's text format, without authentication:
// for a listener of its own (retune serve --metrics-addr). On the API listener, GET
// /metrics needs a read token that spans every study.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
}

// metricsRoute serves GET /metrics on the API listener, for a read token of every study.
func (s *Server) metricsRoute(w http.ResponseWriter, r *http.Request) {
	who, err := s.authenticate(r)
	if err == nil {
		err = authorize(who, route{scope: ScopeRead, global: true}, r)
	}
	if err != nil {
		writeProblem(w, r, s.log, err)
		return
	}
	s.MetricsHandler().ServeHTTP(w, r)
}
