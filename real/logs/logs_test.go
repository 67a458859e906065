package logs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

func line(app string, i int) api.LogLine {
	return api.LogLine{App: app, Source: api.SourceApp, Index: 0, Stream: api.StreamOut, Text: fmt.Sprintf("line %d", i),
		At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func TestBoundAndDropped(t *testing.T) {
	for _, tc := range []struct {
		name               string
		bound, n           int
		wantDrop, wantBuff int
		wantFirst          string
	}{
		// 5 lines into 10 slots: nothing dropped, line 0 is the oldest.
		{"below bound", 10, 5, 0, 5, "line 0"},
		{"at bound", 10, 10, 0, 10, "line 0"},
		// 25 lines into 10 slots: 25-10 = 15 dropped, the oldest kept is line 15.
		{"flood", 10, 25, 15, 10, "line 15"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(tc.bound, nil)
			for i := range tc.n {
				s.Append(line("a", i))
			}
			st := s.Stats("a")
			if st.Received != uint64(tc.n) || st.Dropped != uint64(tc.wantDrop) || st.Buffered != tc.wantBuff {
				t.Fatalf("stats %+v, want received %d dropped %d buffered %d", st, tc.n, tc.wantDrop, tc.wantBuff)
			}
			r := s.Recent("a")
			if len(r) != tc.wantBuff || r[0].Text != tc.wantFirst || r[len(r)-1].Text != fmt.Sprintf("line %d", tc.n-1) {
				t.Fatalf("recent: %d lines, first %q last %q", len(r), r[0].Text, r[len(r)-1].Text)
			}
			for i := 1; i < len(r); i++ {
				if r[i].Seq != r[i-1].Seq+1 {
					t.Fatalf("seq not consecutive at %d: %d after %d", i, r[i].Seq, r[i-1].Seq)
				}
			}
			if s.Stats("other").Received != 0 {
				t.Fatal("apps share a buffer")
			}
		})
	}
}

func TestSinceFollow(t *testing.T) {
	s := New(4, nil)
	for i := range 3 {
		s.Append(line("a", i))
	}
	got, last, wait := s.Since("a", 1)
	if len(got) != 2 || got[0].Seq != 2 || last != 3 {
		t.Fatalf("since 1: %v last %d", got, last)
	}
	select {
	case <-wait:
		t.Fatal("wait closed before an append")
	default:
	}
	s.Append(line("a", 3))
	select {
	case <-wait:
	case <-time.After(time.Second):
		t.Fatal("wait not closed by an append")
	}
	// 3 more lines into 4 slots: seqs 4..7 buffered, a follower at 2 jumps to 4.
	for i := 4; i < 7; i++ {
		s.Append(line("a", i))
	}
	got, _, _ = s.Since("a", 2)
	if len(got) != 4 || got[0].Seq != 4 {
		t.Fatalf("after overflow: first seq %d, %d lines; want 4, 4", got[0].Seq, len(got))
	}
}

func post(t *testing.T, h http.HandlerFunc, body string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest(http.MethodPost, "/v1/logs", strings.NewReader(body)))
	return rec.Code, rec.Body.String()
}

func TestIngest(t *testing.T) {
	s := New(10, nil)
	repOnly := func(w http.ResponseWriter, r *http.Request) { s.Ingest(w, r, api.SourceApp, api.SourceCell) }
	ok := `{"app":"a","source":"APP","index":1,"stream":"OUT","text":"hi","at":"2026-01-02T03:04:05Z"}` + "\n" +
		`{"app":"a","source":"CELL","index":1,"stream":"OUT","text":"made","at":"2026-01-02T03:04:05Z"}`
	for _, tc := range []struct {
		name, body string
		code       int
		want       string
	}{
		{"accepted", ok, 200, `"accepted":2`},
		{"foreign source", strings.Replace(ok, `"CELL"`, `"RTR"`, 1), 403, "source RTR is not this component's"},
		{"unknown source", strings.Replace(ok, `"CELL"`, `"XYZ"`, 1), 422, `want APP, STG, CELL, HEALTH or RTR`},
		{"unknown field", `{"app":"a","nope":1}`, 400, "unknown field"},
		{"no time", `{"app":"a","source":"APP","index":0,"stream":"OUT","text":"x"}`, 422, "at: must be set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Stats("a").Received
			code, body := post(t, repOnly, tc.body)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("%d %s, want %d containing %q", code, body, tc.code, tc.want)
			}
			if after := s.Stats("a").Received; tc.code != 200 && after != before {
				t.Fatalf("a refused batch stored %d lines", after-before)
			}
		})
	}
}

func TestStreamRecentAndFollow(t *testing.T) {
	s := New(100, nil)
	s.Append(line("a", 0), line("a", 1))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.Stream(w, r, "a") }))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "?recent=1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := strings.Count(string(b), "\n"); n != 2 {
		t.Fatalf("recent: %d lines: %s", n, b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"?follow=1", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	s.Append(line("a", 2))
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() || !strings.Contains(sc.Text(), `"line 2"`) || !strings.Contains(sc.Text(), `"seq":3`) {
		t.Fatalf("follow: first line %q, want line 2 with seq 3 (the buffer is not replayed)", sc.Text())
	}
}

func TestDrainSyslog(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := New(10, nil)
	if err := s.SetDrains("a", []string{"syslog://" + ln.Addr().String()}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"syslog://10.0.0.1:514", "http://127.0.0.1:1", "syslog://127.0.0.1"} {
		if err := s.SetDrains("b", []string{bad}); err == nil {
			t.Errorf("drain %q accepted", bad)
		}
	}
	errLine := line("a", 1)
	errLine.Stream = api.StreamErr
	s.Append(line("a", 0), errLine)
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	rd := bufio.NewReader(conn)
	var msgs []string
	for range 2 {
		n, err := rd.ReadString(' ')
		if err != nil {
			t.Fatal(err)
		}
		size, err := strconv.Atoi(strings.TrimSpace(n))
		if err != nil {
			t.Fatalf("frame length %q: %v", n, err)
		}
		buf := make([]byte, size)
		if _, err := io.ReadFull(rd, buf); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, string(buf))
	}
	want := []string{
		"<14>1 2026-01-02T03:04:05Z a diegolab [APP/0] - - line 0",
		"<11>1 2026-01-02T03:04:05Z a diegolab [APP/0] - - line 1",
	}
	for i := range want {
		if msgs[i] != want[i] {
			t.Errorf("message %d = %q, want %q", i, msgs[i], want[i])
		}
	}
	s.Close()
}
