package target

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseREST(t *testing.T) {
	dir := t.TempDir()
	profile := filepath.Join(dir, "p.yaml")
	os.WriteFile(profile, []byte("token: fromprofile\nmqtt_url: tcp://127.0.0.1:1883\nmax_body: 1024\n"), 0o644)
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("tokn: x\n"), 0o644)

	for _, tc := range []struct {
		spec, profile, token  string
		name, base, tok, mqtt string
		tlsURL                string
		err                   string
	}{
		{spec: "", name: "reference"},
		{spec: "reference", name: "reference"},
		{spec: "reference-postgres", name: "reference-postgres"},
		{spec: "http://127.0.0.1:8000/", name: "http://127.0.0.1:8000", base: "http://127.0.0.1:8000"},
		{spec: "http://127.0.0.1:8000/api", name: "http://127.0.0.1:8000/api", base: "http://127.0.0.1:8000/api"},
		{spec: "https://127.0.0.1:8443", base: "https://127.0.0.1:8443", tlsURL: "https://127.0.0.1:8443", name: "https://127.0.0.1:8443"},
		{spec: "http://127.0.0.1:8000", profile: profile, base: "http://127.0.0.1:8000", tok: "fromprofile",
			mqtt: "tcp://127.0.0.1:1883", name: "http://127.0.0.1:8000"},
		{spec: "http://127.0.0.1:8000", profile: profile, token: "flag", tok: "flag", mqtt: "tcp://127.0.0.1:1883",
			base: "http://127.0.0.1:8000", name: "http://127.0.0.1:8000"},
		{spec: "bogus", err: "unknown REST target"},
		{spec: "tcp://127.0.0.1:1883", err: "scheme"},
		{spec: "http://", err: "no host"},
		{spec: "http://127.0.0.1:8000/?x=1", err: "query"},
		{spec: "http://127.0.0.1:8000", profile: bad, err: "tokn"},
		{spec: "http://127.0.0.1:8000", profile: "/nonexistent.yaml", err: "no such file"},
		{spec: "reference", token: "x", err: "external server"},
	} {
		got, err := ParseRESTWith(tc.spec, tc.profile, tc.token)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.spec, err)
			continue
		}
		if got.Name() != tc.name {
			t.Errorf("%q: name %q, want %q", tc.spec, got.Name(), tc.name)
		}
		if tc.base == "" {
			continue // a reference target knows its URL once started
		}
		i := got.Info()
		if i.BaseURL != tc.base || i.Token != tc.tok || i.MQTTURL != tc.mqtt || i.TLSURL != tc.tlsURL || i.Kind != "external" {
			t.Errorf("%q: info %+v", tc.spec, i)
		}
		if got.BaseURL() != i.BaseURL || got.Token() != i.Token || got.MQTTURL() != i.MQTTURL {
			t.Errorf("%q: accessors disagree with Info", tc.spec)
		}
	}
}

func TestRESTReferenceStartStop(t *testing.T) {
	r := NewRESTReference(false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	i := r.Info()
	if i.Store != "sqlite" || i.Token == "" || !strings.HasPrefix(i.MQTTURL, "tcp://127.0.0.1:") ||
		!strings.HasPrefix(i.BaseURL, "http://127.0.0.1:") || !strings.HasPrefix(i.TLSURL, "https://127.0.0.1:") || i.MaxBody == 0 {
		t.Fatalf("info %+v", i)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: i.TLSConfig}}
	for _, u := range []string{i.BaseURL + "/sensors", i.TLSURL + "/sensors"} {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s", u, resp.Status)
		}
	}
	dir := r.dir
	if err := r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("data directory %s left behind: %v", dir, err)
	}
	if _, err := c.Get(i.BaseURL + "/sensors"); err == nil {
		t.Error("the server still answers after Stop")
	}
}
