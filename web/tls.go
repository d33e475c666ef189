package web

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Self-signed certificate files in the directory given to
// EnsureSelfSigned, and their lifetime.
const (
	SelfSignedCertFile = "cert.pem"
	SelfSignedKeyFile  = "key.pem"
	selfSignedLife     = 397 * 24 * time.Hour
	// selfSignedRenew is how long before expiry a certificate is
	// replaced at start-up.
	selfSignedRenew = 30 * 24 * time.Hour
)

// SelfSigned describes the certificate EnsureSelfSigned settled on.
type SelfSigned struct {
	CertFile, KeyFile string
	// SHA256 is the certificate's fingerprint (hex), for the analyst to
	// compare with what the browser shows.
	SHA256   string
	NotAfter time.Time
	Created  bool // false: an existing certificate was reused
}

// EnsureSelfSigned returns a self-signed ECDSA P-256 certificate for
// hosts (names or IPs) kept in dir: the one already there when it still
// parses, matches its key, covers every host and has over 30 days left;
// otherwise a new one, written there (key mode 0600). localhost and the
// loopback IPs are always included.
func EnsureSelfSigned(dir string, hosts []string, now time.Time) (SelfSigned, error) {
	certPath, keyPath := filepath.Join(dir, SelfSignedCertFile), filepath.Join(dir, SelfSignedKeyFile)
	hosts = selfSignedHosts(hosts)
	if ss, err := loadSelfSigned(certPath, keyPath, hosts, now); err == nil {
		return ss, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return SelfSigned{}, fmt.Errorf("create %s: %w", dir, err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return SelfSigned{}, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return SelfSigned{}, fmt.Errorf("serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"casescope"}, CommonName: "casescope self-signed"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(selfSignedLife),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return SelfSigned{}, fmt.Errorf("create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return SelfSigned{}, fmt.Errorf("encode key: %w", err)
	}
	if err := WriteFileAtomic(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return SelfSigned{}, err
	}
	if err := WriteFileAtomic(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return SelfSigned{}, err
	}
	sum := sha256.Sum256(der)
	return SelfSigned{CertFile: certPath, KeyFile: keyPath, SHA256: hex.EncodeToString(sum[:]), NotAfter: tmpl.NotAfter,
		Created: true}, nil
}

// selfSignedHosts adds the loopback names to hosts and drops wildcard
// addresses and duplicates.
func selfSignedHosts(hosts []string) []string {
	out := []string{"localhost", "127.0.0.1", "::1"}
	for _, h := range hosts {
		h = strings.ToLower(strings.Trim(strings.TrimSpace(h), "[]"))
		if ip := net.ParseIP(h); h == "" || (ip != nil && ip.IsUnspecified()) {
			continue
		}
		if !slices.Contains(out, h) {
			out = append(out, h)
		}
	}
	return out
}

// errStale means an existing certificate must be replaced.
var errStale = errors.New("certificate must be replaced")

func loadSelfSigned(certPath, keyPath string, hosts []string, now time.Time) (SelfSigned, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return SelfSigned{}, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return SelfSigned{}, err
	}
	cb, _ := pem.Decode(certPEM)
	kb, _ := pem.Decode(keyPEM)
	if cb == nil || kb == nil {
		return SelfSigned{}, errStale
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return SelfSigned{}, err
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return SelfSigned{}, err
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	signer, sok := key.(crypto.Signer)
	if !ok || !sok || !pub.Equal(signer.Public()) {
		return SelfSigned{}, errStale
	}
	if now.Before(cert.NotBefore) || now.Add(selfSignedRenew).After(cert.NotAfter) {
		return SelfSigned{}, errStale
	}
	for _, h := range hosts {
		if cert.VerifyHostname(h) != nil {
			return SelfSigned{}, errStale
		}
	}
	sum := sha256.Sum256(cb.Bytes)
	return SelfSigned{CertFile: certPath, KeyFile: keyPath, SHA256: hex.EncodeToString(sum[:]), NotAfter: cert.NotAfter}, nil
}

// WriteFileAtomic writes a file with the given mode through a synced temp
// file and a rename, so a crash or a reader never sees half of it (keys,
// the local token in serve.json).
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
