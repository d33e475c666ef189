package web_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	"casescope/store"
)

// BenchmarkUploadStream measures the multipart upload path end to end over
// HTTP: the handler streams each part to engine.ImportUpload, which hashes
// it to disk. The body is 32 MiB of non-EVTX bytes, so the engine rejects
// it after receiving it and no processing competes with the upload.
func BenchmarkUploadStream(b *testing.B) {
	const size = 32 << 20
	r := newRig(b, rigOptions{})
	c := r.createCase(b, "bench")
	chunk := bytes.Repeat([]byte("casescope upload benchmark\n"), 4096)
	url := r.srv.URL + "/api/cases/" + itoa(c.ID) + "/upload"
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			w, err := mw.CreateFormFile("file", "big.bin")
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			for n := 0; n < size; n += len(chunk) {
				if _, err := w.Write(chunk[:min(len(chunk), size-n)]); err != nil {
					pw.CloseWithError(err)
					return
				}
			}
			pw.CloseWithError(mw.Close())
		}()
		req, err := http.NewRequest("POST", url, pr)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", mw.FormDataContentType())
		r.authorize(req, store.RoleAnalyst)
		res, err := r.srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("upload: %d", res.StatusCode)
		}
	}
}

// BenchmarkSearchPage measures one search API call: a 50-event page with
// facets, events read back from their EVTX chunks, JSON encoded.
func BenchmarkSearchPage(b *testing.B) {
	r := newRig(b, rigOptions{})
	c := r.createCase(b, "bench")
	if st, raw := r.upload(b, c.ID, uploadFile{"Security_short_selected.evtx", fixture(b, "Security_short_selected.evtx")}); st != http.StatusOK {
		b.Fatalf("upload: %d %s", st, raw)
	}
	r.waitIdle(b)
	url := r.srv.URL + "/api/cases/" + itoa(c.ID) + "/search?size=50&q=" + "EventID:*"
	b.ResetTimer()
	benchGET(b, r, url)
}

// BenchmarkSessionRequest measures what a session adds to every API call:
// the cookie checked against the ledger (TouchSession, one bbolt update
// transaction) on GET /api/session, the cheapest authenticated route.
func BenchmarkSessionRequest(b *testing.B) {
	r := newRig(b, rigOptions{})
	url := r.srv.URL + "/api/session"
	benchGET(b, r, url)
}

// benchGET times authenticated GETs of url (read-only role), each read to
// the end and required to answer 200.
func benchGET(b *testing.B, r *rig, url string) {
	b.Helper()
	for b.Loop() {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			b.Fatal(err)
		}
		r.authorize(req, store.RoleReadOnly)
		res, err := r.srv.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d", url, res.StatusCode)
		}
	}
}

// BenchmarkLogin measures one successful login: the argon2id check (19
// MiB, t=2), the session and the audit entry.
func BenchmarkLogin(b *testing.B) {
	r := newRig(b, rigOptions{})
	body := []byte(`{"name":"analyst","password":"` + testPasswords[store.RoleAnalyst] + `"}`)
	for b.Loop() {
		res, err := r.srv.Client().Post(r.srv.URL+"/api/login", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("login: %d", res.StatusCode)
		}
	}
}
