package server

import (
	"net"
	"net/http"
	"time"

	"github.com/a6b40afc/retune"
)

// agentRequest is an agent's report of itself (retune agent sends it at start and every
// 15 s).
type agentRequest struct {
	ID      string `json:"id"`
	Host    string `json:"host"`
	PID     int    `json:"pid"`
	Study   string `json:"study"`
	Slots   int    `json:"slots"`
	Running int    `json:"running"`
}

func (r *agentRequest) Validate() error {
	if err := r.info().Validate(); err != nil {
		return invalid("id", "an agent's report: id (1 to 200 characters), host, pid, study, slots and running >= 0", "%v", err)
	}
	if r.Study == "" {
		return invalid("study", "the study the agent runs", "missing")
	}
	return nil
}

func (r *agentRequest) info() retune.AgentInfo {
	return retune.AgentInfo{ID: r.ID, Host: r.Host, PID: r.PID, Study: r.Study, Slots: r.Slots, Running: r.Running}
}

type agentJSON struct {
	ID      string    `json:"id"`
	Host    string    `json:"host"`
	Addr    string    `json:"addr"`
	PID     int       `json:"pid"`
	Study   string    `json:"study"`
	Slots   int       `json:"slots"`
	Running int       `json:"running"`
	First   time.Time `json:"first_contact"`
	Last    time.Time `json:"last_contact"`
}

// recordAgent stores an agent's report; its token must reach the study it runs.
func (s *Server) recordAgent(c *call) (int, any, error) {
	var req agentRequest
	if err := decode(c.body, &req); err != nil {
		return 0, nil, err
	}
	if err := authorizeStudy(c.who, req.Study); err != nil {
		return 0, nil, err
	}
	as, ok := s.store.(retune.AgentStore)
	if !ok {
		return 0, nil, errorf(http.StatusNotImplemented, "no-agents", "this storage keeps no agents")
	}
	info := req.info()
	// The address the report came from (behind a proxy: the proxy's), never what the
	// agent claims.
	if host, _, err := net.SplitHostPort(c.r.RemoteAddr); err == nil {
		info.Addr = host
	}
	if err := as.RecordAgent(c.r.Context(), info); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// listAgents lists the agents seen in the last ?within (default 24h).
func (s *Server) listAgents(c *call) (int, any, error) {
	q, err := query(c.r, "within")
	if err != nil {
		return 0, nil, err
	}
	within := 24 * time.Hour
	if v, ok := q["within"]; ok {
		if within, err = time.ParseDuration(v); err != nil || within <= 0 {
			return 0, nil, &fieldError{Field: "within", Msg: v, Valid: "a duration such as 1h or 30m", Status: 400}
		}
	}
	as, ok := s.store.(retune.AgentStore)
	if !ok {
		return 0, nil, errorf(http.StatusNotImplemented, "no-agents", "this storage keeps no agents")
	}
	list, err := as.Agents(c.r.Context(), time.Now().Add(-within))
	if err != nil {
		return 0, nil, err
	}
	out := struct {
		Agents []agentJSON `json:"agents"`
	}{Agents: []agentJSON{}}
	for _, a := range list {
		out.Agents = append(out.Agents, agentJSON{a.ID, a.Host, a.Addr, a.PID, a.Study, a.Slots, a.Running, a.First, a.Last})
	}
	return http.StatusOK, out, nil
}
