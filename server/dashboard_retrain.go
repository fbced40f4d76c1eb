package server

import (
	"errors"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/a6b40afc/retune"
)

// The dashboard's model and events pages: what the API's routes answer, drawn for people,
// with the controls that promote, redeliver and enable (each confirmed, each through the
// API's handler).

func (s *Server) modelPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	model := r.PathValue("model")
	champ, err := s.act(w, r, v, http.MethodGet, "/models/{model}/champion", nil)
	if err != nil && !errors.Is(err, retune.ErrNotFound) && !isStatus(err, http.StatusNotFound) {
		return err
	}
	hist, err := s.act(w, r, v, http.MethodGet, "/models/{model}/champion/history", nil)
	if err != nil {
		return err
	}
	decs, err := s.act(w, r, v, http.MethodGet, "/models/{model}/decisions", nil)
	if err != nil {
		return err
	}
	type decisionView struct {
		decisionJSON
		Chart template.HTML
	}
	var views []decisionView
	for _, d := range decs.(decisionList).Decisions {
		views = append(views, decisionView{d, evidenceSVG(d.Evidence)})
	}
	s.render(w, r, http.StatusOK, "model", v, map[string]any{"Title": "Model " + model, "Model": model, "Champion": champ,
		"History": hist.(championList).Champions, "Decisions": views})
	return nil
}

func isStatus(err error, status int) bool {
	var he *httpError
	return errors.As(err, &he) && he.Status == status
}

// evidenceSVG draws a decision's evidence on one axis: each repeat's difference
// (candidate − champion, positive is better) as a dot, the mean improvement, its lower
// confidence bound as a bar, and the margin the bound had to clear as a dashed line.
// Colours are the Okabe–Ito palette's; the text beside it says the same in words.
func evidenceSVG(ev retune.Evidence) template.HTML {
	xs := append([]float64{ev.Improvement, ev.Margin, 0}, ev.Differences...)
	if ev.LowerBound != nil {
		xs = append(xs, *ev.LowerBound)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
	}
	if !(hi > lo) {
		lo, hi = lo-1, hi+1
	}
	pad := (hi - lo) * 0.08
	lo, hi = lo-pad, hi+pad
	const W, H = 420.0, 56.0
	px := func(x float64) string { return strconv.FormatFloat(10+(W-20)*(x-lo)/(hi-lo), 'f', 1, 64) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="evidence" viewBox="0 0 %g %g" width="%g" height="%g" role="img" aria-label="repeat differences, mean improvement %s, margin %s">`,
		W, H, W, H, formatNum(ev.Improvement), formatNum(ev.Margin))
	fmt.Fprintf(&b, `<line x1="10" x2="%g" y1="40" y2="40" stroke="#6e7781"/>`, W-10)
	fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="8" y2="48" stroke="#6e7781" stroke-width="1"/><text x="%s" y="54" font-size="8" text-anchor="middle" fill="#4a5561">0</text>`, px(0), px(0), px(0))
	fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="8" y2="48" stroke="#D55E00" stroke-width="2" stroke-dasharray="4 3"/><text x="%s" y="8" font-size="8" fill="#8a3a00">margin</text>`, px(ev.Margin), px(ev.Margin), px(ev.Margin))
	if ev.LowerBound != nil {
		fmt.Fprintf(&b, `<rect x="%s" y="18" width="%s" height="8" fill="#0072B2" opacity="0.35"/>`, px(*ev.LowerBound),
			strconv.FormatFloat(math.Max(0, (W-20)*(ev.Improvement-*ev.LowerBound)/(hi-lo)), 'f', 1, 64))
		fmt.Fprintf(&b, `<line x1="%s" x2="%s" y1="14" y2="30" stroke="#0072B2" stroke-width="2"/>`, px(*ev.LowerBound), px(*ev.LowerBound))
	}
	for _, d := range ev.Differences {
		fmt.Fprintf(&b, `<circle cx="%s" cy="40" r="3" fill="#CC79A7"/>`, px(d))
	}
	fmt.Fprintf(&b, `<path d="M%s 16 l4 6 l-4 6 l-4 -6 z" fill="#009E73"/>`, px(ev.Improvement))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// The promote control.
func (s *Server) promoteConfirm(w http.ResponseWriter, r *http.Request, v *viewer) error {
	s.render(w, r, http.StatusOK, "confirm", v, map[string]any{
		"Title": "Promote decision " + r.PathValue("decision") + "'s candidate?", "Button": "promote", "Action": r.URL.Path,
		"Text": "Its candidate becomes the champion of model " + r.PathValue("model") + " (compare-and-set on the champion version; a cooldown is honoured), and the promotion's event is recorded.",
		"Back": "/models/" + url.PathEscape(r.PathValue("model")),
	})
	return nil
}

func (s *Server) promoteAction(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if _, err := s.act(w, r, v, http.MethodPost, "/models/{model}/decisions/{decision}/promote", promoteRequest{}); err != nil {
		return err
	}
	http.Redirect(w, r, "/models/"+url.PathEscape(r.PathValue("model"))+"?done=promote", http.StatusSeeOther)
	return nil
}

func (s *Server) eventsPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	evs, err := s.act(w, r, v, http.MethodGet, "/events", nil, "state", "notifier", "before")
	if err != nil {
		return err
	}
	ns, err := s.act(w, r, v, http.MethodGet, "/notifiers", nil)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	s.render(w, r, http.StatusOK, "events", v, map[string]any{"Title": "Events", "Events": evs.(eventList), "Notifiers": ns.(notifierList).Notifiers,
		"State": q.Get("state"), "Notifier": q.Get("notifier"), "Query": q})
	return nil
}

func (s *Server) eventPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ev, err := s.act(w, r, v, http.MethodGet, "/events/{event}", nil)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "event", v, map[string]any{"Title": "Event " + r.PathValue("event"), "E": ev.(eventJSON)})
	return nil
}

func (s *Server) redeliverConfirm(w http.ResponseWriter, r *http.Request, v *viewer) error {
	s.render(w, r, http.StatusOK, "confirm", v, map[string]any{
		"Title": "Deliver event " + r.PathValue("event") + " again?", "Button": "redeliver", "Action": r.URL.Path,
		"Text": "Its deliveries become pending again and the dispatcher sends them at once (receivers deduplicate by the event's ID).",
		"Back": "/events/" + url.PathEscape(r.PathValue("event")),
	})
	return nil
}

func (s *Server) redeliverAction(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if _, err := s.act(w, r, v, http.MethodPost, "/events/{event}/redeliver", redeliverRequest{}); err != nil {
		return err
	}
	http.Redirect(w, r, "/events/"+url.PathEscape(r.PathValue("event"))+"?done=redeliver", http.StatusSeeOther)
	return nil
}

func (s *Server) enableConfirm(w http.ResponseWriter, r *http.Request, v *viewer) error {
	s.render(w, r, http.StatusOK, "confirm", v, map[string]any{
		"Title": "Enable notifier " + r.PathValue("notifier") + "?", "Button": "enable", "Action": r.URL.Path,
		"Text": "Its failure streak is cleared and its pending deliveries are sent again.", "Back": "/events",
	})
	return nil
}

func (s *Server) enableAction(w http.ResponseWriter, r *http.Request, v *viewer) error {
	if _, err := s.act(w, r, v, http.MethodPost, "/notifiers/{notifier}/enable", notifierRequest{}); err != nil {
		return err
	}
	http.Redirect(w, r, "/events?done=enable", http.StatusSeeOther)
	return nil
}

// agentsPage lists the agents seen within ?within= (default a day), as the API does.
func (s *Server) agentsPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	out, err := s.act(w, r, v, http.MethodGet, "/agents", nil, "within")
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "agents", v, map[string]any{"Title": "Agents", "A": out})
	return nil
}
