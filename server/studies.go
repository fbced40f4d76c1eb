package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/config"
)

// query reads the query parameters of r, refusing any not in allowed.
func query(r *http.Request, allowed ...string) (map[string]string, error) {
	out := map[string]string{}
	for k, vs := range r.URL.Query() {
		if !slices.Contains(allowed, k) {
			return nil, &fieldError{Field: k, Msg: "unknown query parameter", Valid: "one of " + quoteList(allowed), Status: 400}
		}
		if len(vs) != 1 {
			return nil, &fieldError{Field: k, Msg: "given more than once", Valid: "one value", Status: 400}
		}
		out[k] = vs[0]
	}
	return out, nil
}

func quoteList(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += strconv.Quote(x)
	}
	return out
}

// limitParam parses "limit": 1 to 1000, default 100.
func limitParam(q map[string]string) (int, error) {
	v, ok := q["limit"]
	if !ok {
		return 100, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, &fieldError{Field: "limit", Msg: strconv.Quote(v), Valid: "an integer from 1 to 1000", Status: 400}
	}
	return n, nil
}

type studyList struct {
	Studies []studyJSON `json:"studies"`
	// Next is the "after" of the next page; empty on the last page.
	Next string `json:"next,omitempty"`
}

func (s *Server) listStudies(c *call) (int, any, error) {
	q, err := query(c.r, "limit", "after")
	if err != nil {
		return 0, nil, err
	}
	limit, err := limitParam(q)
	if err != nil {
		return 0, nil, err
	}
	sums, err := s.store.Studies(c.r.Context())
	if err != nil {
		return 0, nil, err
	}
	out := studyList{Studies: []studyJSON{}}
	for _, sum := range sums { // ordered by name
		if sum.Name <= q["after"] || !c.who.reaches(sum.Name) {
			continue
		}
		if len(out.Studies) == limit {
			out.Next = out.Studies[limit-1].Name
			break
		}
		out.Studies = append(out.Studies, studyOf(sum, false))
	}
	return http.StatusOK, out, nil
}

// summary returns the study named name with its counts.
func (s *Server) summary(ctx context.Context, name string) (retune.StudySummary, error) {
	sums, err := s.store.Studies(ctx)
	if err != nil {
		return retune.StudySummary{}, err
	}
	for _, sum := range sums {
		if sum.Name == name {
			return sum, nil
		}
	}
	return retune.StudySummary{}, errorf(http.StatusNotFound, "not-found", "no study %q", name)
}

func (s *Server) getStudy(c *call) (int, any, error) {
	if _, err := query(c.r); err != nil {
		return 0, nil, err
	}
	sum, err := s.summary(c.r.Context(), c.r.PathValue("study"))
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, studyOf(sum, true), nil
}

// createStudy creates the study a definition describes, or resumes it (the definition
// must then agree with the stored one, unless replace).
func (s *Server) createStudy(c *call) (int, any, error) {
	var req createStudyRequest
	if err := decode(c.body, &req); err != nil {
		return 0, nil, err
	}
	def, err := config.ParseDefinition("definition", req.Definition)
	if err != nil {
		return 0, nil, err
	}
	if err := authorizeStudy(c.who, def.Name); err != nil {
		return 0, nil, err
	}
	ctx := c.r.Context()
	status := http.StatusOK
	if _, err := s.store.Study(ctx, def.Name); errors.Is(err, retune.ErrNotFound) {
		status = http.StatusCreated
	} else if err != nil {
		return 0, nil, err
	}
	if _, err := def.NewStudy(ctx, s.store, req.Replace); err != nil {
		return 0, nil, err
	}
	sum, err := s.summary(c.r.Context(), def.Name)
	if err != nil {
		return 0, nil, err
	}
	return status, studyOf(sum, true), nil
}

func (s *Server) deleteStudy(c *call) (int, any, error) {
	name := c.r.PathValue("study")
	rec, err := s.store.Study(c.r.Context(), name)
	if err != nil {
		return 0, nil, err
	}
	if err := s.store.DeleteStudy(c.r.Context(), rec.ID); err != nil {
		return 0, nil, err
	}
	s.forget(name)
	return http.StatusNoContent, nil, nil
}
