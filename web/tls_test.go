package web_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"casescope/web"
)

func TestEnsureSelfSigned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	first, err := web.EnsureSelfSigned(dir, []string{"0.0.0.0", "forensics-vm", "192.168.56.10"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !first.Created {
		t.Fatal("first call: want a new certificate")
	}
	cert := readCert(t, first.CertFile)
	if k, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
		t.Errorf("key: got %T, want ECDSA P-256", cert.PublicKey)
	}
	for _, h := range []string{"localhost", "127.0.0.1", "::1", "forensics-vm", "192.168.56.10"} {
		if err := cert.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not cover %s: %v", h, err)
		}
	}
	if _, err := tls.LoadX509KeyPair(first.CertFile, first.KeyFile); err != nil {
		t.Errorf("key pair does not load: %v", err)
	}
	if st, err := os.Stat(first.KeyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key mode: %v %v, want 0600", st, err)
	}
	tests := []struct {
		name     string
		hosts    []string
		at       time.Time
		wantSame bool
	}{
		{"same hosts", []string{"forensics-vm"}, now.Add(24 * time.Hour), true},
		{"new host", []string{"other-name"}, now.Add(24 * time.Hour), false},
		{"near expiry", nil, now.Add(380 * 24 * time.Hour), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "tls")
			if _, err := web.EnsureSelfSigned(d, []string{"forensics-vm"}, now); err != nil {
				t.Fatal(err)
			}
			a := readCert(t, filepath.Join(d, web.SelfSignedCertFile))
			got, err := web.EnsureSelfSigned(d, tc.hosts, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			b := readCert(t, got.CertFile)
			if same := a.SerialNumber.Cmp(b.SerialNumber) == 0; same != tc.wantSame || got.Created == tc.wantSame {
				t.Fatalf("reused: got %v (created %v), want %v", same, got.Created, tc.wantSame)
			}
		})
	}
	// A damaged key is replaced, not trusted.
	if err := os.WriteFile(first.KeyFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := web.EnsureSelfSigned(dir, nil, now)
	if err != nil || !again.Created {
		t.Fatalf("after a damaged key: %+v %v, want a new certificate", again, err)
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
