package server

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/retrain"
)

// Champions, decisions, promotion and triggers: the retraining records of a model, through
// the same retrain functions as the CLI (retune champion, decisions, trigger). A token's
// study pattern applies to model names too.

type championJSON struct {
	Model    string           `json:"model"`
	Version  int64            `json:"version"`
	Params   map[string]any   `json:"params"`
	Values   []Float          `json:"values"`
	Metrics  map[string]Float `json:"metrics,omitempty"`
	Source   string           `json:"source"`
	Study    string           `json:"study,omitempty"`
	Trial    *int             `json:"trial,omitempty"`
	Decision int64            `json:"decision,omitempty"`
	Created  time.Time        `json:"created"`
}

func championOf(c retune.Champion) championJSON {
	j := championJSON{Model: c.Model, Version: c.Version, Params: c.Params, Values: toFloats(c.Values), Source: c.Source,
		Study: c.Study, Decision: c.Decision, Created: c.Created.UTC()}
	if j.Params == nil {
		j.Params = map[string]any{}
	}
	if j.Values == nil {
		j.Values = []Float{}
	}
	if c.Trial >= 0 && c.Source == "trial" {
		j.Trial = &c.Trial
	}
	if len(c.Metrics) > 0 {
		j.Metrics = make(map[string]Float, len(c.Metrics))
		for k, v := range c.Metrics {
			j.Metrics[k] = Float(v)
		}
	}
	return j
}

type decisionJSON struct {
	ID              int64           `json:"id"`
	Model           string          `json:"model"`
	Study           string          `json:"study"`
	Run             string          `json:"run"`
	ChampionVersion int64           `json:"champion_version"`
	Candidate       int             `json:"candidate"`
	Improved        bool            `json:"improved"`
	Reason          string          `json:"reason"`
	Evidence        retune.Evidence `json:"evidence"`
	Created         time.Time       `json:"created"`
}

func decisionOf(d retune.Decision) decisionJSON {
	return decisionJSON{ID: d.ID, Model: d.Model, Study: d.Study, Run: d.RunID, ChampionVersion: d.ChampionVersion,
		Candidate: d.Candidate, Improved: d.Improved, Reason: d.Reason, Evidence: d.Evidence, Created: d.Created.UTC()}
}

// retrainStore is the storage as a store of champions and decisions.
func (s *Server) retrainStore() (retrain.Store, error) {
	st, ok := s.store.(retrain.Store)
	if !ok {
		return nil, fmt.Errorf("%w: storage %T keeps no champions", retune.ErrInvalid, s.store)
	}
	return st, nil
}

func (s *Server) champion(c *call) (int, any, error) {
	if _, err := query(c.r); err != nil {
		return 0, nil, err
	}
	st, err := s.retrainStore()
	if err != nil {
		return 0, nil, err
	}
	model := c.r.PathValue("model")
	ch, err := st.Champion(c.r.Context(), model)
	if err != nil {
		return 0, nil, fmt.Errorf("model %q: %w", model, err)
	}
	return http.StatusOK, championOf(ch), nil
}

type championList struct {
	Champions []championJSON `json:"champions"`
}

func (s *Server) championHistory(c *call) (int, any, error) {
	if _, err := query(c.r); err != nil {
		return 0, nil, err
	}
	st, err := s.retrainStore()
	if err != nil {
		return 0, nil, err
	}
	hist, err := st.ChampionHistory(c.r.Context(), c.r.PathValue("model"))
	if err != nil {
		return 0, nil, err
	}
	out := championList{Champions: []championJSON{}}
	for _, ch := range hist {
		out.Champions = append(out.Champions, championOf(ch))
	}
	return http.StatusOK, out, nil
}

type setChampionRequest struct {
	Params  map[string]any   `json:"params"`
	Values  []Float          `json:"values"`
	Metrics map[string]Float `json:"metrics,omitempty"`
}

func (r *setChampionRequest) Validate() error {
	if len(r.Values) == 0 {
		return invalid("values", "the champion's objective values", "missing")
	}
	return nil
}

// setChampion records a champion by hand (retrain.SetChampion): the next version.
func (s *Server) setChampion(c *call) (int, any, error) {
	var req setChampionRequest
	if err := decode(c.body, &req); err != nil {
		return 0, nil, err
	}
	st, err := s.retrainStore()
	if err != nil {
		return 0, nil, err
	}
	metrics := map[string]float64{}
	for k, v := range req.Metrics {
		metrics[k] = float64(v)
	}
	ch, err := retrain.SetChampion(c.r.Context(), st, c.r.PathValue("model"), req.Params, floats(req.Values), metrics)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, championOf(ch), nil
}

type decisionList struct {
	Decisions []decisionJSON `json:"decisions"`
}

func (s *Server) listDecisions(c *call) (int, any, error) {
	if _, err := query(c.r); err != nil {
		return 0, nil, err
	}
	st, err := s.retrainStore()
	if err != nil {
		return 0, nil, err
	}
	ds, err := st.Decisions(c.r.Context(), c.r.PathValue("model"))
	if err != nil {
		return 0, nil, err
	}
	out := decisionList{Decisions: []decisionJSON{}}
	for _, d := range ds {
		out.Decisions = append(out.Decisions, decisionOf(d))
	}
	return http.StatusOK, out, nil
}

// decision reads the {decision} of the path, a decision about the path's {model}.
func (s *Server) decision(c *call, st retrain.Store) (retune.Decision, error) {
	v := c.r.PathValue("decision")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return retune.Decision{}, &fieldError{Field: "decision", Msg: strconv.Quote(v), Valid: "a decision ID (an integer >= 1)", Status: 400}
	}
	d, err := st.Decision(c.r.Context(), id)
	if err != nil {
		return retune.Decision{}, err
	}
	if model := c.r.PathValue("model"); d.Model != model {
		return retune.Decision{}, errorf(http.StatusNotFound, "not-found", "model %q has no decision %d", model, id)
	}
	return d, nil
}

func (s *Server) getDecision(c *call) (int, any, error) {
	if _, err := query(c.r); err != nil {
		return 0, nil, err
	}
	st, err := s.retrainStore()
	if err != nil {
		return 0, nil, err
	}
	d, err := s.decision(c, st)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, decisionOf(d), nil
}

type promoteRequest struct {
	Values  []Float          `json:"values,omitempty"`
	Metrics map[string]Float `json:"metrics,omitempty"`
	Force   bool             `json:"force,omitempty"`
	Notify  *[]string        `json:"notify,omitempty"`
}

func (r *promoteRequest) Validate() error { return nil }

// promote makes a decision's candidate the model's champion (retrain.Promote): a
// compare-and-set on the champion version the decision was made against.
func (s *Server) promote(c *call) (int, any, error) {
	var req promoteRequest
	if err := decode(orEmpty(c.body), &req); err != nil {
		return 0, nil, err
	}
	st, err := s.retrainStore()
	if err != nil {
		return 0, nil, err
	}
	d, err := s.decision(c, st)
	if err != nil {
		return 0, nil, err
	}
	po := retrain.PromoteOptions{Values: floats(req.Values), Force: req.Force}
	if len(req.Values) == 0 {
		po.Values = nil
	}
	if len(req.Metrics) > 0 {
		po.Metrics = map[string]float64{}
		for k, v := range req.Metrics {
			po.Metrics[k] = float64(v)
		}
	}
	if req.Notify != nil {
		po.Notify = append([]string{}, *req.Notify...)
	}
	ch, err := retrain.Promote(c.r.Context(), st, d.ID, po)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, championOf(ch), nil
}

type triggerRequest struct {
	Reason string `json:"reason,omitempty"`
}

func (r *triggerRequest) Validate() error {
	if len(r.Reason) > retune.MaxReasonLen {
		return invalid("reason", fmt.Sprintf("at most %d bytes", retune.MaxReasonLen), "%d bytes", len(r.Reason))
	}
	return nil
}

type triggerResponse struct {
	ID int64 `json:"id"`
}

// trigger files a re-tune trigger for the model (as retune trigger does): a scheduler of
// the model (retune run --every) starts a re-tune soon. It needs scope run: it asks for
// work, as an ask does, and changes no champion.
func (s *Server) trigger(c *call) (int, any, error) {
	var req triggerRequest
	if err := decode(orEmpty(c.body), &req); err != nil {
		return 0, nil, err
	}
	ts, ok := s.store.(retune.TriggerStore)
	if !ok {
		return 0, nil, fmt.Errorf("%w: storage %T keeps no triggers", retune.ErrInvalid, s.store)
	}
	reason := req.Reason
	if reason == "" {
		reason = "API trigger"
	}
	id, err := ts.RequestRetune(c.r.Context(), c.r.PathValue("model"), reason)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, triggerResponse{ID: id}, nil
}
