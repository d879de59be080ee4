package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/wirecheck/wirecheck/harness/target"
)

// fault is a deliberate defect a proxy in front of the reference server
// introduces; the suite must catch it: at least one spec citing each ID in
// want must fail.
type fault struct {
	name string
	want []string
	req  func(r *http.Request, token string)
	resp func(*http.Response)
}

var faults = []fault{
	// The proxy alone: the suite passes through it as an external target
	// (profile, token, clock slack), so what fails below is the fault's.
	{name: "none"},
	{name: "no-etag", want: []string{"RFC9110-8.8.3"},
		resp: func(r *http.Response) { r.Header.Del("ETag") }},
	{name: "weak-etag", want: []string{"RFC9110-8.8.3"},
		resp: func(r *http.Response) {
			if e := r.Header.Get("ETag"); e != "" {
				r.Header.Set("ETag", "W/"+e)
			}
		}},
	{name: "ignore-if-match", want: []string{"RFC9110-13.1.1", "SEED-OCC-1"},
		req: func(r *http.Request, _ string) { r.Header.Del("If-Match") }},
	{name: "no-allow", want: []string{"RFC9110-15.5.6", "RFC9110-9.3.7"},
		resp: func(r *http.Response) { r.Header.Del("Allow") }},
	{name: "created-is-200", want: []string{"SEED-SENSORS-1", "SEED-TASKS-5", "RFC9110-15.3.2"},
		resp: func(r *http.Response) {
			if r.StatusCode == http.StatusCreated {
				r.StatusCode, r.Status = http.StatusOK, "200 OK"
			}
		}},
	{name: "errors-as-text", want: []string{"RFC9457-3", "SEED-SENSORS-6"},
		resp: func(r *http.Response) {
			if strings.HasPrefix(r.Header.Get("Content-Type"), "application/problem+json") {
				r.Header.Set("Content-Type", "text/plain; charset=utf-8")
			}
		}},
	{name: "bad-input-is-500", want: []string{"SEED-INPUT-1", "SEED-SENSORS-6", "SEED-TASKS-1"},
		resp: func(r *http.Response) {
			if r.StatusCode == http.StatusBadRequest {
				r.StatusCode, r.Status = http.StatusInternalServerError, "500 Internal Server Error"
			}
		}},
	{name: "no-vary", want: []string{"RFC9110-12.5.5"},
		resp: func(r *http.Response) { r.Header.Del("Vary") }},
	{name: "open-writes", want: []string{"RFC6750-3", "RFC6750-3.1"},
		req: func(r *http.Request, token string) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				r.Header.Set("Authorization", "Bearer "+token)
			}
		}},
	{name: "no-next-link", want: []string{"SEED-READINGS-3"},
		resp: func(r *http.Response) {
			if strings.HasSuffix(r.Request.URL.Path, "/readings") && r.StatusCode == http.StatusOK &&
				r.Header.Get("Content-Type") == "application/json" {
				r.Header.Set("X-Strip-Next", "1")
			}
		}},
	{name: "json-only", want: []string{"SEED-REPR-1", "RFC9110-12.5.1"},
		req: func(r *http.Request, _ string) { r.Header.Del("Accept") }},
}

// TestSelfTest runs the suite against the reference server behind a proxy
// with one fault each, in child processes, and requires the specs of the
// fault's checks to fail: the suite is not blind to what it claims to check.
func TestSelfTest(t *testing.T) {
	if os.Getenv("WIRECHECK_DRYRUN") == "1" || os.Getenv(envChild) != "" {
		t.Skip("inside a child run of the suite")
	}
	if testing.Short() {
		t.Skip("runs the suite once per fault")
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			ref := target.NewRESTReference(false)
			if err := ref.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer ref.Stop(context.Background())
			info := ref.Info()
			backend, _ := url.Parse(info.BaseURL)
			proxy := &httputil.ReverseProxy{
				Rewrite: func(pr *httputil.ProxyRequest) {
					pr.SetURL(backend)
					pr.Out.Host = pr.In.Host // links name the proxy
					if f.req != nil {
						f.req(pr.Out, info.Token)
					}
				},
				ModifyResponse: func(r *http.Response) error {
					if f.resp != nil {
						f.resp(r)
					}
					if r.Header.Get("X-Strip-Next") != "" {
						return stripNext(r)
					}
					return nil
				},
			}
			front := httptest.NewServer(proxy)
			defer front.Close()

			dir := t.TempDir()
			profile := filepath.Join(dir, "profile.yaml")
			os.WriteFile(profile, []byte(fmt.Sprintf("mqtt_url: %s\nmax_body: %d\n", info.MQTTURL, info.MaxBody)), 0o644)
			jsonReport := filepath.Join(dir, "report.json")
			cmd := exec.Command(os.Args[0], "-test.run=^TestREST$", "-test.count=1", "-test.timeout=5m",
				"-ginkgo.no-color", "-ginkgo.json-report="+jsonReport)
			cmd.Env = append(os.Environ(), envChild+"=1", EnvTarget+"="+front.URL, EnvToken+"="+info.Token,
				EnvProfile+"="+profile)
			out, err := cmd.CombinedOutput()
			switch {
			case f.want == nil && err != nil:
				t.Errorf("the suite failed through a transparent proxy: %v\n%s", err, tail(out, 60))
				return
			case f.want == nil:
				return
			case err == nil:
				t.Fatalf("the suite passed against a server with fault %s", f.name)
			}
			b, rerr := os.ReadFile(jsonReport)
			var rs []types.Report
			if rerr != nil || json.Unmarshal(b, &rs) != nil || len(rs) != 1 {
				t.Fatalf("no report (%v):\n%s", rerr, tail(out, 30))
			}
			failedIDs := map[string]bool{}
			failed := 0
			for _, sr := range rs[0].SpecReports {
				if sr.LeafNodeType != types.NodeTypeIt || !sr.Failed() {
					continue
				}
				failed++
				for _, l := range sr.Labels() {
					failedIDs[l] = true
				}
			}
			for _, id := range f.want {
				if !failedIDs[id] {
					t.Errorf("fault %s: no spec citing %s failed", f.name, id)
				}
			}
			var ids []string
			for id := range failedIDs {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			t.Logf("fault %s: %d specs failed, citing %s", f.name, failed, strings.Join(ids, " "))
		})
	}
}

// stripNext removes the "next" link from a JSON readings page.
func stripNext(r *http.Response) error {
	var page map[string]any
	defer r.Body.Close()
	if err := json.NewDecoder(r.Body).Decode(&page); err != nil {
		return err
	}
	links, _ := page["links"].([]any)
	var kept []any
	for _, l := range links {
		if m, _ := l.(map[string]any); m["rel"] != "next" {
			kept = append(kept, l)
		}
	}
	page["links"] = kept
	b, _ := json.Marshal(page)
	r.Body = io.NopCloser(bytes.NewReader(b))
	r.ContentLength = int64(len(b))
	r.Header.Set("Content-Length", fmt.Sprint(len(b)))
	r.Header.Del("X-Strip-Next")
	r.Header.Del("Link")
	return nil
}
