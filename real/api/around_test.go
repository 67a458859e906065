package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text\twith a tab", "plain text\twith a tab"},
		{"\x1b]0;owned-title\x07", `\x1b]0;owned-title\x07`},
		{"red \x1b[31mtext\x1b[0m", `red \x1b[31mtext\x1b[0m`},
		{"csi \u009b2J", `csi \u009b2J`},
		{"bad \xff byte", `bad \xff byte`},
		{"del \x7f", `del \x7f`},
		{"héllo ✓", "héllo ✓"},
	} {
		if got := Printable(tc.in); got != tc.want {
			t.Errorf("Printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestClientRetriesRateLimit(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls < 3 {
			w.Header().Set("Retry-After", "0")
			WriteError(w, http.StatusTooManyRequests, errors.New("slow down"))
			return
		}
		WriteJSON(w, http.StatusOK, Health{Cells: 7})
	}))
	defer srv.Close()
	var h Health
	if err := NewClient(srv.URL, "t", 5*time.Second).Do(context.Background(), http.MethodGet, "/v1/health", nil, &h); err != nil || h.Cells != 7 || calls != 3 {
		t.Fatalf("after two 429s: %+v %v (%d calls)", h, err, calls)
	}
	calls = -100 // always limited: the client gives up after maxRateRetries
	err := NewClient(srv.URL, "t", 5*time.Second).Do(context.Background(), http.MethodGet, "/v1/health", nil, &h)
	if StatusOf(err) != http.StatusTooManyRequests || calls != -100+maxRateRetries+1 {
		t.Fatalf("always limited: %v after %d calls", err, calls+100)
	}
}
