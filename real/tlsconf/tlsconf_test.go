package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveTLS runs an HTTPS server with the bbs certificate of dir that requires client
// certificates, and returns its address.
func serveTLS(t *testing.T, dir string) string {
	t.Helper()
	cfg, err := Server(dir, "bbs")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }),
		ErrorLog: nil, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(tls.NewListener(ln, cfg))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestRefused: the table of connections a component's listener refuses, and the one
// it takes.
func TestRefused(t *testing.T) {
	dir, other, old := t.TempDir(), t.TempDir(), t.TempDir()
	if err := Generate(dir, Options{Hosts: []string{"10.77.0.2", "cell-host-1", "10.213.0.11"}}); err != nil {
		t.Fatal(err)
	}
	if err := Generate(other, Options{}); err != nil { // another cluster's CA
		t.Fatal(err)
	}
	// An expired client certificate from the right CA: copy the CA, then make leaves
	// valid only in the past.
	for _, f := range []string{"ca.crt", "ca.key"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(old, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := Generate(old, Options{NotBefore: time.Now().Add(-48 * time.Hour), Validity: time.Hour}); err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, dir)
	client := func(cfg *tls.Config) *http.Client {
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	}
	good, err := Client(dir, "rep")
	if err != nil {
		t.Fatal(err)
	}
	noCert := good.Clone()
	noCert.Certificates = nil
	wrongCA, err := Client(other, "rep")
	if err != nil {
		t.Fatal(err)
	}
	wrongCA.RootCAs = good.RootCAs // it trusts the server; the server must not trust it
	expired, err := Client(old, "rep")
	if err != nil {
		t.Fatal(err)
	}
	// A host's address (live up --hosts: 10.213.0.0/24) is verified as a SAN: the
	// server is reached under a name its certificate has, or under one it lacks.
	asHost := func(name string) *tls.Config { c := good.Clone(); c.ServerName = name; return c }
	for _, tc := range []struct {
		name string
		c    *http.Client
		url  string
		ok   bool
	}{
		{"server under a host address it has", client(asHost("10.213.0.11")), "https://" + addr, true},
		{"server under a host address it lacks", client(asHost("10.213.0.12")), "https://" + addr, false},
		{"cluster certificate", client(good), "https://" + addr, true},
		{"no client certificate", client(noCert), "https://" + addr, false},
		{"client certificate from another CA", client(wrongCA), "https://" + addr, false},
		{"expired client certificate", client(expired), "https://" + addr, false},
		{"plain HTTP", &http.Client{Timeout: 5 * time.Second}, "http://" + addr, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := tc.c.Get(tc.url)
			var body string
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				body = string(b)
			}
			served := err == nil && resp.StatusCode == 200 && body == "ok"
			if served != tc.ok {
				t.Fatalf("served = %v (err %v, body %q), want %v", served, err, body, tc.ok)
			}
		})
	}
	// The client refuses a server whose certificate is from another CA.
	otherAddr := serveTLS(t, other)
	if _, err := client(good).Get("https://" + otherAddr); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("client accepted another CA's server: %v", err)
	}
}

// TestGenerateKeepsCA: a second Generate keeps the CA and the certificates; the SANs
// name loopback and the given hosts.
func TestGenerateKeepsCA(t *testing.T) {
	dir := t.TempDir()
	if err := Generate(dir, Options{Hosts: []string{"10.77.0.2"}}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err := os.Remove(filepath.Join(dir, "router.crt")); err != nil {
		t.Fatal(err)
	}
	if err := Generate(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if string(before) != string(after) {
		t.Fatal("second Generate replaced the CA")
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "bbs.crt"), filepath.Join(dir, "bbs.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Client(dir, "router"); err != nil {
		t.Fatalf("router certificate not remade: %v", err)
	}
	cert, _ := x509Parse(pair)
	var ips []string
	for _, ip := range cert.IPAddresses {
		ips = append(ips, ip.String())
	}
	if got := strings.Join(ips, " "); got != "127.0.0.1 ::1 10.77.0.2" {
		t.Fatalf("SANs = %s", got)
	}
	if st, _ := os.Stat(filepath.Join(dir, "ca.key")); st.Mode().Perm() != 0o600 {
		t.Fatalf("ca.key mode %v", st.Mode())
	}
	if err := Generate(dir, Options{Hosts: make([]string, maxHosts+1)}); err == nil {
		t.Fatal("unbounded hosts accepted")
	}
}

func x509Parse(pair tls.Certificate) (*x509.Certificate, error) {
	return x509.ParseCertificate(pair.Certificate[0])
}
