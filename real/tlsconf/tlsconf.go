// Package tlsconf is the cluster's own certificate authority and the mutual-TLS
// configurations of its components, with nothing but crypto/x509.
//
// Generate writes, into one directory, a CA (ca.crt, ca.key) and a certificate and
// key per component (bbs, rep, router, client: NAME.crt, NAME.key). Every component
// certificate is good for both ends of a connection (server and client auth) and
// names 127.0.0.1, ::1, localhost and the hosts' addresses given to Generate.
// Server requires and verifies a client certificate from the same CA; Client
// presents the component's certificate and trusts only that CA. TLS 1.3 only.
//
// Keys are ECDSA P-256 (fast handshakes; the files are 0600). A second Generate in
// the same directory keeps the CA and every file already there, and adds what is
// missing: certificates already handed out stay valid.
package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Components are the certificates Generate makes besides the CA.
var Components = []string{"bbs", "rep", "router", "client"}

// Options tune Generate; the zero value is the usual choice.
type Options struct {
	// Hosts are extra IP addresses or DNS names for the SANs (the hosts' addresses).
	Hosts []string
	// Validity of the certificates (default one year), from NotBefore (default now).
	Validity  time.Duration
	NotBefore time.Time
}

// maxHosts bounds Options.Hosts (each is a SAN of every certificate).
const maxHosts = 256

// Generate makes the CA and the components' certificates in dir (see the package
// comment for what a second run keeps).
func Generate(dir string, o Options) error {
	if len(o.Hosts) > maxHosts {
		return fmt.Errorf("tlsconf: %d hosts, at most %d", len(o.Hosts), maxHosts)
	}
	if o.Validity <= 0 {
		o.Validity = 365 * 24 * time.Hour
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Now().Add(-time.Minute)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	ca, caKey, err := loadOrMakeCA(dir, o)
	if err != nil {
		return err
	}
	for _, name := range Components {
		if exists(filepath.Join(dir, name+".crt")) && exists(filepath.Join(dir, name+".key")) {
			continue
		}
		if err := makeLeaf(dir, name, ca, caKey, o); err != nil {
			return err
		}
	}
	return nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

func loadOrMakeCA(dir string, o Options) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	crt, key := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	if exists(crt) && exists(key) {
		pair, err := tls.LoadX509KeyPair(crt, key)
		if err != nil {
			return nil, nil, fmt.Errorf("tlsconf: %s: %w", crt, err)
		}
		ca, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			return nil, nil, fmt.Errorf("tlsconf: %s: %w", crt, err)
		}
		k, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
		if !ok {
			return nil, nil, fmt.Errorf("tlsconf: %s: not an ECDSA key", key)
		}
		return ca, k, nil
	}
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: sn, Subject: pkix.Name{CommonName: "diegolab cluster CA"},
		NotBefore: o.NotBefore, NotAfter: o.NotBefore.Add(o.Validity), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, MaxPathLenZero: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return nil, nil, err
	}
	if err := write(crt, key, der, k); err != nil {
		return nil, nil, err
	}
	ca, err := x509.ParseCertificate(der)
	return ca, k, err
}

func makeLeaf(dir, name string, ca *x509.Certificate, caKey *ecdsa.PrivateKey, o Options) error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	sn, err := serial()
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{SerialNumber: sn, Subject: pkix.Name{CommonName: "diegolab " + name},
		NotBefore: o.NotBefore, NotAfter: o.NotBefore.Add(o.Validity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, DNSNames: []string{"localhost"}}
	for _, h := range o.Hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &k.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("tlsconf: %s: %w", name, err)
	}
	return write(filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"), der, k)
}

func write(crtPath, keyPath string, der []byte, k *ecdsa.PrivateKey) error {
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	if err := os.WriteFile(crtPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	return nil
}

func load(dir, name string) (tls.Certificate, *x509.CertPool, error) {
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("tlsconf: certificate %q in %s: %w (make them with `diegolab certs %s`)", name, dir, err, dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("tlsconf: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return tls.Certificate{}, nil, errors.New("tlsconf: " + filepath.Join(dir, "ca.crt") + ": no PEM certificate")
	}
	return pair, pool, nil
}

// Server is the TLS configuration of a component's listener: it presents NAME.crt
// and requires a client certificate signed by the cluster's CA.
func Server(dir, name string) (*tls.Config, error) {
	pair, pool, err := load(dir, name)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: pool, MinVersion: tls.VersionTLS13}, nil
}

// Client is the TLS configuration of a component's outgoing connections: it
// presents NAME.crt and trusts only the cluster's CA.
func Client(dir, name string) (*tls.Config, error) {
	pair, pool, err := load(dir, name)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, RootCAs: pool, MinVersion: tls.VersionTLS13}, nil
}
