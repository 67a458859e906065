package api

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ActiveHeader names, in a passive BBS's 503, the URL of the active one.
const ActiveHeader = "X-Diegolab-Active-BBS"

// MaxBody is the default limit of a JSON request body.
const MaxBody = 1 << 20

// RequireToken wraps h: requests without "Authorization: Bearer <one of tokens>"
// get a 401. Tokens are compared in constant time.
func RequireToken(h http.Handler, tokens ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		got, ok := strings.CutPrefix(auth, "Bearer ")
		match := 0
		for _, t := range tokens {
			if t != "" && ok {
				match |= subtle.ConstantTimeCompare([]byte(got), []byte(t))
			}
		}
		if match != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="diegolab"`)
			WriteError(w, http.StatusUnauthorized, errors.New("missing or invalid bearer token"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Decode reads exactly one JSON value into v from a body of at most limit bytes
// (MaxBody when 0), refusing unknown fields. The error is ready for a 400/413.
func Decode(w http.ResponseWriter, r *http.Request, v any, limit int64) (int, error) {
	if limit <= 0 {
		limit = MaxBody
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("request body exceeds %d bytes", limit)
		}
		if errors.Is(err, io.EOF) {
			return http.StatusBadRequest, errors.New("request body: empty, want a JSON object")
		}
		return http.StatusBadRequest, fmt.Errorf("request body: %w", err)
	}
	if dec.More() {
		return http.StatusBadRequest, errors.New("request body: trailing data after the JSON value")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("request body exceeds %d bytes", limit)
		}
		return http.StatusBadRequest, errors.New("request body: trailing data after the JSON value")
	}
	return 0, nil
}

// WriteJSON writes v with status. The body is encoded before the header is sent, so
// an encoding failure is a clean 500, never a partial write.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(Error{Message: "encoding the reply: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// WriteError writes {"error": err} with status.
func WriteError(w http.ResponseWriter, status int, err error) {
	WriteJSON(w, status, Error{Message: err.Error()})
}

// Client talks to a diegolab HTTP API (the BBS or a rep).
type Client struct {
	// URL is the base URL the client talks to (under mu once in use: failover.go
	// moves it to the BBS that answers).
	URL   string
	Token string
	HTTP  *http.Client
	// URLs, when set, are every BBS of an active/passive pair (failover.go).
	URLs []string
	mu   sync.Mutex
}

// NewClient returns a client with a timeout per request. url may be a
// comma-separated list of the BBSs of a pair (failover.go).
func NewClient(url, token string, timeout time.Duration) *Client {
	urls := SplitURLs(url)
	c := &Client{URL: strings.TrimRight(url, "/"), Token: token, HTTP: &http.Client{Timeout: timeout}}
	if len(urls) > 1 {
		c.URL, c.URLs = urls[0], urls
	}
	return c
}

// Do sends in (JSON; nil for no body) and decodes a 2xx reply into out (nil to
// discard). A non-2xx reply is an *Error carrying the status.
//
// A 429 (the BBS's client rate limit) is retried after its Retry-After, up to
// maxRateRetries times: a CLI waiting on the cluster slows down rather than fails.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var b []byte
	if in != nil {
		var err error
		if b, err = json.Marshal(in); err != nil {
			return err
		}
	}
	for attempt := 0; ; attempt++ {
		var body io.Reader
		if in != nil {
			body = bytes.NewReader(b)
		}
		err := c.DoRaw(ctx, method, path, body, "application/json", out)
		var e *Error
		if !errors.As(err, &e) || e.Status != http.StatusTooManyRequests || attempt >= maxRateRetries {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(min(max(e.RetryAfter, 100*time.Millisecond), 5*time.Second)):
		}
	}
}

// maxRateRetries bounds the retries of a rate-limited request.
const maxRateRetries = 5

// DoRaw sends a raw body with a content type (to the active BBS of a pair: a body
// that is not an io.Seeker is sent once, without failover).
func (c *Client) DoRaw(ctx context.Context, method, path string, body io.Reader, ctype string, out any) error {
	return c.withFailover(func(base string) error {
		return c.doRaw(ctx, base, method, path, body, ctype, out)
	}, rewinder(body))
}

func (c *Client) doRaw(ctx context.Context, base, method, path string, body io.Reader, ctype string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		// err (a *url.Error) already names the method and URL.
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return replyError(method, path, resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if w, ok := out.(io.Writer); ok {
		_, err := io.Copy(w, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decoding the reply: %w", method, path, err)
	}
	return nil
}

// replyError reads a non-2xx reply into an *Error.
func replyError(method, path string, resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e Error
	if json.Unmarshal(b, &e) != nil || e.Message == "" {
		e.Message = fmt.Sprintf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	e.Status = resp.StatusCode
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs >= 0 {
		e.RetryAfter = time.Duration(min(secs, 60)) * time.Second
	}
	if v, ok := resp.Header[http.CanonicalHeaderKey(ActiveHeader)]; ok && resp.StatusCode == http.StatusServiceUnavailable {
		e.Passive = true
		if len(v) > 0 {
			e.Active = strings.TrimRight(v[0], "/")
		}
	}
	return &e
}

// StatusOf returns the HTTP status of an *Error (0 otherwise).
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// HasToken reports whether r carries "Authorization: Bearer token" (constant time;
// an empty token never matches).
func HasToken(r *http.Request, token string) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && token != "" && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1
}
