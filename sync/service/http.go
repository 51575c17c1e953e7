package service

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler is the daemon's HTTP surface: the webhooks, the web UI (Web)
// under /, and, when ops is true, /healthz, /readyz and /metrics.
func (s *Service) Handler(ops bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("HEAD /webhooks/trello/{source}", s.trelloHead)
	mux.HandleFunc("GET /webhooks/trello/{source}", s.trelloHead)
	mux.HandleFunc("POST /webhooks/trello/{source}", s.trelloPost)
	mux.HandleFunc("POST /webhooks/github/{source}", s.githubPost)
	if ops {
		s.opsRoutes(mux)
	}
	if s.opts.Web != nil {
		mux.Handle("/", s.opts.Web)
	}
	return mux
}

func (s *Service) opsHandler() http.Handler {
	mux := http.NewServeMux()
	s.opsRoutes(mux)
	return mux
}

func (s *Service) opsRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
}

// readyz is 200 when the store answers, its schema is current and River
// is started; 503 with what is not, otherwise.
func (s *Service) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if err := s.app.Store.Ping(ctx); err != nil {
		checks["store"], ok = "unreachable: "+s.redact(err.Error()), false
	} else if pending, err := s.app.Store.PendingMigrations(ctx); err != nil {
		checks["schema"], ok = "unreadable: "+s.redact(err.Error()), false
	} else if len(pending) > 0 {
		checks["schema"], ok = "not current: run karkas migrate", false
	} else {
		checks["store"], checks["schema"] = "ok", "ok"
	}
	if s.started.Load() {
		checks["river"] = "ok"
	} else {
		checks["river"], ok = "not started", false
	}
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"ready": ok, "checks": checks})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// redact hides the run's secrets (the store URL's password among them) in
// what the listener answers.
func (s *Service) redact(text string) string {
	if s.app.Secrets == nil {
		return text
	}
	return s.app.Secrets.Redact(text)
}
