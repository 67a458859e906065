package api

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestFailover: a client that knows a pair follows the active: past a dead URL and
// a passive (to the active it names, even when listed last), with the body sent
// again; it sticks to the active; a client with one URL makes one attempt.
func TestFailover(t *testing.T) {
	var activeHits atomic.Int32
	active := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		activeHits.Add(1)
		var in map[string]int
		if code, err := Decode(w, r, &in, 0); err != nil {
			WriteError(w, code, err)
			return
		}
		WriteJSON(w, 200, in)
	}))
	defer active.Close()
	var passiveHits atomic.Int32
	passive := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		passiveHits.Add(1)
		w.Header().Set(ActiveHeader, active.URL)
		WriteJSON(w, 503, Error{Message: "not active"})
	}))
	defer passive.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { t.Error("asked a URL after the active") }))
	defer other.Close()

	ctx := context.Background()
	c := NewClient(strings.Join([]string{dead, passive.URL, other.URL, active.URL}, ","), "tok", 5*time.Second)
	var out map[string]int
	if err := c.Do(ctx, "POST", "/x", map[string]int{"n": 7}, &out); err != nil || out["n"] != 7 {
		t.Fatalf("through the pair: %v %v", out, err)
	}
	if c.Base() != active.URL || passiveHits.Load() != 1 || activeHits.Load() != 1 {
		t.Fatalf("base %s, passive hits %d, active hits %d", c.Base(), passiveHits.Load(), activeHits.Load())
	}
	// A raw body (a Seeker) is sent again too; the client now goes straight to the active.
	if err := c.DoRaw(ctx, "POST", "/x", strings.NewReader(`{"n":8}`), "application/json", &out); err != nil || out["n"] != 8 {
		t.Fatalf("raw: %v %v", out, err)
	}
	if passiveHits.Load() != 1 {
		t.Fatal("the client went back to the passive")
	}
	// Only the passive: its 503 comes back, marked.
	one := NewClient(passive.URL, "tok", 5*time.Second)
	err = one.Do(ctx, "GET", "/x", nil, nil)
	var e *Error
	if !asError(err, &e) || e.Status != 503 || !e.Passive || e.Active != active.URL {
		t.Fatalf("single passive: %#v", err)
	}
	// Only a dead URL: unreachable.
	if err := NewClient(dead, "tok", time.Second).Do(ctx, "GET", "/x", nil, nil); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("dead: %v", err)
	}
	if got := SplitURLs(" http://a/ ,, http://b"); strings.Join(got, " ") != "http://a http://b" {
		t.Fatalf("SplitURLs = %q", got)
	}
}

func asError(err error, e **Error) bool {
	x, ok := err.(*Error)
	*e = x
	return ok
}
