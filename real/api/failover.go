package api

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
)

// A client of an active/passive BBS pair knows every BBS's URL: NewClient takes them
// comma-separated ("http://127.0.0.1:7001,http://127.0.0.1:7002"). A request goes to
// the BBS that answered last; when that one is unreachable, or answers 503 as a
// passive (ActiveHeader present), the request goes to the active it names (if it is
// one of the URLs) or to the next URL, each at most once. A client with one URL
// behaves as before.

// WithTLS makes the client speak TLS with cfg (the component's certificate and
// the cluster's CA: real/tlsconf.Client); nil leaves it as it is.
func (c *Client) WithTLS(cfg *tls.Config) *Client {
	if cfg == nil {
		return c
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	c.HTTP.Transport = tr
	return c
}

// ErrUnreachable wraps a transport failure (no HTTP reply at all).
var ErrUnreachable = errors.New("API unreachable (is the cluster up? diegolab live status)")

// SplitURLs splits a comma-separated list of base URLs, dropping blanks and
// trailing slashes.
func SplitURLs(list string) []string {
	var out []string
	for _, u := range strings.Split(list, ",") {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			out = append(out, u)
		}
	}
	return out
}

// candidates returns the URLs to try, the one that answered last first.
func (c *Client) candidates() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.URLs) == 0 {
		return []string{c.URL}
	}
	out := []string{c.URL}
	for _, u := range c.URLs {
		if u != c.URL {
			out = append(out, u)
		}
	}
	return out
}

func (c *Client) setCurrent(u string) {
	c.mu.Lock()
	c.URL = u
	c.mu.Unlock()
}

// Base is the URL the client currently talks to.
func (c *Client) Base() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.URL
}

// passiveOrGone reports whether err says "try another BBS", and the active's URL
// when a passive named it.
func passiveOrGone(err error) (bool, string) {
	if errors.Is(err, ErrUnreachable) {
		return true, ""
	}
	var e *Error
	if errors.As(err, &e) && e.Passive {
		return true, e.Active
	}
	return false, ""
}

// withFailover runs try on each candidate URL until one is neither unreachable nor
// passive; rewind prepares the body for another attempt (false: it cannot be sent
// again, so the first error stands).
func (c *Client) withFailover(try func(base string) error, rewind func() bool) error {
	urls := c.candidates()
	var err error
	for i := 0; i < len(urls); i++ {
		if i > 0 && !rewind() {
			return err
		}
		err = try(urls[i])
		again, active := passiveOrGone(err)
		if !again {
			c.setCurrent(urls[i])
			return err
		}
		// The passive named the active: try it next, if it is one of ours.
		if j := slices.Index(urls, active); active != "" && j > i+1 {
			urls[i+1], urls[j] = urls[j], urls[i+1]
		}
	}
	return err
}

// rewinder returns how to rewind body for another attempt.
func rewinder(body io.Reader) func() bool {
	return func() bool {
		if body == nil {
			return true
		}
		if sk, ok := body.(io.Seeker); ok {
			_, err := sk.Seek(0, io.SeekStart)
			return err == nil
		}
		return false
	}
}

// Stream GETs path and returns the open reply body (an event or log stream) from
// the active BBS; the caller closes it.
func (c *Client) Stream(ctx context.Context, path string) (io.ReadCloser, error) {
	var body io.ReadCloser
	err := c.withFailover(func(base string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+c.Token)
		resp, err := c.HTTP.Do(req)
		if err != nil {
			return errors.Join(ErrUnreachable, err)
		}
		if resp.StatusCode != http.StatusOK {
			defer resp.Body.Close()
			return replyError(http.MethodGet, path, resp)
		}
		body = resp.Body
		return nil
	}, rewinder(nil))
	return body, err
}
