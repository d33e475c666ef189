package web

import (
	"fmt"
	"net/http"
	"strings"

	"casescope/engine"
	"casescope/engine/ioc"
	"casescope/store"
)

// maxIOCsPerRequest bounds one add (a pasted list or CSV).
const maxIOCsPerRequest = 100_000

func (s *Server) handleSigma(w http.ResponseWriter, r *http.Request) {
	serveCaseList(s, w, r, s.eng.SigmaSummary)
}

func (s *Server) handleIOCs(w http.ResponseWriter, r *http.Request) {
	serveCaseList(s, w, r, s.eng.IOCs)
}

// serveCaseList answers with what get returns for the request's case: a
// JSON array, [] when empty, or the error.
func serveCaseList[T any](s *Server, w http.ResponseWriter, r *http.Request, get func(caseID uint64) ([]T, error)) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := get(c.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if list == nil {
		list = []T{}
	}
	writeJSON(w, http.StatusOK, list)
}

// iocInput is one IOC in an add request; an empty type is detected from
// the value.
type iocInput struct {
	Type        string `json:"type"`
	Value       string `json:"value"`
	Description string `json:"description"`
}

// iocChange is the answer to an IOC add, edit or delete: what was stored
// and the re-hunt job that applies it to the case's events.
type iocChange struct {
	IOCs []store.IOC `json:"iocs,omitempty"`
	IOC  *store.IOC  `json:"ioc,omitempty"`
	Job  engine.Job  `json:"job"`
}

// handleAddIOCs adds IOCs given as a list, as pasted text (one value per
// line, types detected) or as CSV, then starts a re-hunt.
func (s *Server) handleAddIOCs(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		IOCs        []iocInput `json:"iocs"`
		Text        string     `json:"text"`
		Format      string     `json:"format"` // text (default) or csv
		Description string     `json:"description"`
		Source      string     `json:"source"`
	}
	if err := decodeJSON(w, r, maxIOCBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	in := make([]ioc.IOC, 0, len(req.IOCs))
	for _, i := range req.IOCs {
		t := ioc.Type(strings.TrimSpace(i.Type))
		if t == "" {
			t = ioc.DetectType(i.Value)
		}
		in = append(in, ioc.IOC{Type: t, Value: i.Value, Description: i.Description, Enabled: true})
	}
	if strings.TrimSpace(req.Text) != "" {
		var parsed []ioc.IOC
		switch strings.ToLower(req.Format) {
		case "", "text":
			parsed, err = ioc.ParseText(strings.NewReader(req.Text))
		case "csv":
			parsed, err = ioc.ParseCSV(strings.NewReader(req.Text))
		default:
			err = badRequest("format must be text or csv, not %q", req.Format)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, p := range parsed {
			if p.Description == "" {
				p.Description = req.Description
			}
			in = append(in, p)
		}
	}
	if len(in) == 0 {
		s.writeError(w, r, badRequest("no IOCs given: send iocs, or text with one value per line"))
		return
	}
	if len(in) > maxIOCsPerRequest {
		s.writeError(w, r, badRequest("%d IOCs in one request; the limit is %d", len(in), maxIOCsPerRequest))
		return
	}
	source := strings.TrimSpace(req.Source)
	if source == "" {
		source = "web"
	}
	stored, job, err := s.eng.AddIOCs(c.ID, in, source)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.log.Info("iocs added", "case_id", c.ID, "iocs", len(stored), "job_id", job.ID)
	writeJSON(w, http.StatusCreated, iocChange{IOCs: stored, Job: job})
}

// handleUpdateIOC changes the fields given (enabled, description, value,
// type) and starts a re-hunt.
func (s *Server) handleUpdateIOC(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := idParam(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Enabled     *bool   `json:"enabled"`
		Description *string `json:"description"`
		Value       *string `json:"value"`
		Type        *string `json:"type"`
	}
	if err := decodeJSON(w, r, maxJSONBody, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Description != nil && len(*req.Description) > 4000 {
		s.writeError(w, r, badRequest("description longer than 4000 characters"))
		return
	}
	v, job, err := s.eng.UpdateIOC(c.ID, id, func(i *store.IOC) error {
		if req.Enabled != nil {
			i.Enabled = *req.Enabled
		}
		if req.Description != nil {
			i.Description = *req.Description
		}
		if req.Value != nil {
			i.Value = *req.Value
		}
		if req.Type != nil {
			i.Type = *req.Type
		}
		return nil
	})
	if err != nil {
		s.writeError(w, r, fmt.Errorf("update ioc %d: %w", id, err))
		return
	}
	writeJSON(w, http.StatusOK, iocChange{IOC: &v, Job: job})
}

func (s *Server) handleDeleteIOC(w http.ResponseWriter, r *http.Request) {
	c, err := s.caseFrom(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	id, err := idParam(r, "id")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	job, err := s.eng.DeleteIOC(c.ID, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, iocChange{Job: job})
}
