package logs

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/diegolab/diegolab/real/api"
)

// drainQueue bounds the lines waiting for one drain.
const drainQueue = 10000

// ParseDrain checks a drain URL (syslog://127.0.0.1:PORT) and returns its address.
func ParseDrain(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "syslog" || u.Hostname() != "127.0.0.1" || u.Port() == "" || u.Path != "" && u.Path != "/" {
		return "", fmt.Errorf("drain %q: want syslog://127.0.0.1:PORT (TCP, loopback only)", raw)
	}
	if p, err := strconv.Atoi(u.Port()); err != nil || p <= 0 || p > 65535 {
		return "", fmt.Errorf("drain %q: port must be 1-65535", raw)
	}
	return u.Host, nil
}

// drain forwards one app's lines to a syslog listener over TCP, RFC 5424 messages
// with RFC 6587 octet-counting framing ("LEN SP MSG").
type drain struct {
	app, addr string
	log       *slog.Logger
	q         chan api.LogLine
	done      chan struct{}
	once      sync.Once
	// failed counts lines lost after they were queued (drain down or write error).
	failed atomic.Uint64
}

func newDrain(app, addr string, log *slog.Logger) *drain {
	d := &drain{app: app, addr: addr, log: log, q: make(chan api.LogLine, drainQueue), done: make(chan struct{})}
	go d.run()
	return d
}

// offer queues l; false when the queue is full (the line is lost for this drain).
func (d *drain) offer(l api.LogLine) bool {
	select {
	case d.q <- l:
		return true
	default:
		return false
	}
}

func (d *drain) close() { d.once.Do(func() { close(d.q) }) }

func (d *drain) wait(timeout time.Duration) {
	select {
	case <-d.done:
	case <-time.After(timeout):
	}
}

// Syslog renders l as an RFC 5424 message: facility user (1); severity info (6) for
// OUT, error (3) for ERR, so PRI is 8+6 = 14 or 8+3 = 11. HOSTNAME is the app,
// APP-NAME "diegolab", PROCID "[SOURCE/index]".
func Syslog(l *api.LogLine) string {
	pri := 14
	if l.Stream == api.StreamErr {
		pri = 11
	}
	return fmt.Sprintf("<%d>1 %s %s diegolab [%s/%d] - - %s", pri, l.At.UTC().Format(time.RFC3339Nano), l.App, l.Source, l.Index, l.Text)
}

// Frame is RFC 6587 octet counting: the message's length in bytes, a space, the message.
func Frame(msg string) string { return strconv.Itoa(len(msg)) + " " + msg }

func (d *drain) run() {
	defer close(d.done)
	var conn net.Conn
	var bw *bufio.Writer
	var retryAt time.Time
	defer func() {
		if conn != nil {
			_ = bw.Flush()
			conn.Close()
		}
	}()
	for l := range d.q {
		if conn == nil {
			if time.Now().Before(retryAt) {
				d.failed.Add(1)
				continue // dropped: the drain is down; try again after the back-off
			}
			c, err := net.DialTimeout("tcp", d.addr, 2*time.Second)
			if err != nil {
				d.log.Warn("drain unreachable", "app", d.app, "addr", d.addr, "err", err)
				retryAt = time.Now().Add(time.Second)
				d.failed.Add(1)
				continue
			}
			conn, bw = c, bufio.NewWriter(c)
		}
		_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, err := bw.WriteString(Frame(Syslog(&l)))
		if err == nil && len(d.q) == 0 {
			err = bw.Flush()
		}
		if err != nil {
			d.log.Warn("drain write", "app", d.app, "addr", d.addr, "err", err)
			d.failed.Add(1)
			conn.Close()
			conn, bw = nil, nil
		}
	}
}
