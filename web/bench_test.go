package web_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
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
	for b.Loop() {
		res, err := r.srv.Client().Get(url)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("search: %d", res.StatusCode)
		}
	}
}
