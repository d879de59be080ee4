package overhead

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestComet(t *testing.T) {
	c := NewComet()
	srv := httptest.NewServer(c)
	defer srv.Close()
	get := func(ctx context.Context, topic string) (int, string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/s?t="+topic, nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	post := func(topic, body string) int {
		resp, err := srv.Client().Post(srv.URL+"/s?t="+topic, "application/octet-stream", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	bg := context.Background()

	t.Run("queued messages come one per poll, in order", func(t *testing.T) {
		for _, m := range []string{"a", "b"} {
			if code := post("q", m); code != http.StatusNoContent {
				t.Fatalf("POST: %d", code)
			}
		}
		for _, want := range []string{"a", "b"} {
			code, body, err := get(bg, "q")
			if err != nil || code != http.StatusOK || body != want {
				t.Errorf("GET: %d %q %v, want 200 %q", code, body, err, want)
			}
		}
	})
	t.Run("a held poll gets the next message", func(t *testing.T) {
		done := make(chan string)
		go func() {
			_, body, _ := get(bg, "held")
			done <- body
		}()
		time.Sleep(50 * time.Millisecond)
		select {
		case b := <-done:
			t.Fatalf("poll answered before any message: %q", b)
		default:
		}
		post("held", "m")
		if b := <-done; b != "m" {
			t.Errorf("got %q", b)
		}
	})
	t.Run("an idle poll ends with 204 after the hold time", func(t *testing.T) {
		c.SetHold("idle", 30*time.Millisecond)
		start := time.Now()
		code, body, err := get(bg, "idle")
		if err != nil || code != http.StatusNoContent || body != "" {
			t.Errorf("got %d %q %v", code, body, err)
		}
		if d := time.Since(start); d < 30*time.Millisecond {
			t.Errorf("answered after %v, before the hold time", d)
		}
	})
	t.Run("a client that leaves gets no response", func(t *testing.T) {
		waitFor := func(n int) {
			t.Helper()
			for deadline := time.Now().Add(5 * time.Second); c.waiters("gone") != n; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d polls held on the topic, want %d", c.waiters("gone"), n)
				}
			}
		}
		ctx, cancel := context.WithCancel(bg)
		errc := make(chan error, 1)
		go func() {
			_, _, err := get(ctx, "gone")
			errc <- err
		}()
		waitFor(1)
		cancel()
		if err := <-errc; err == nil {
			t.Error("poll with no message and no hold time returned")
		}
		// The held poll ends when the server sees the client gone; the
		// fixture then works for the next client.
		waitFor(0)
		post("gone", "x")
		if _, body, _ := get(bg, "gone"); body != "x" {
			t.Errorf("next poll got %q", body)
		}
	})
	t.Run("errors", func(t *testing.T) {
		if code, _, _ := get(bg, ""); code != http.StatusBadRequest {
			t.Errorf("no topic: %d", code)
		}
		req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/s?t=x", nil)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, POST" {
			t.Errorf("DELETE: %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})
}

func TestParseTarget(t *testing.T) {
	cases := []struct {
		url, proto string
		addr       string
		tls        bool
		bad        bool
	}{
		{"tcp://127.0.0.1:1883", "mqtt", "127.0.0.1:1883", false, false},
		{"mqtt://127.0.0.1", "mqtt", "127.0.0.1:1883", false, false},
		{"tls://127.0.0.1:8883", "mqtt", "127.0.0.1:8883", true, false},
		{"mqtts://127.0.0.1", "mqtt", "127.0.0.1:8883", true, false},
		{"https://127.0.0.1:8443", "https", "127.0.0.1:8443", true, false},
		{"http://[::1]:8000", "https", "[::1]:8000", false, false},
		{"https://127.0.0.1:8443", "mqtt", "", false, true},
		{"ws://127.0.0.1:8080", "mqtt", "", false, true},
		{"127.0.0.1:1883", "mqtt", "", false, true},
	}
	for _, tc := range cases {
		ep, err := parseTarget(tc.url, tc.proto)
		if tc.bad {
			if err == nil {
				t.Errorf("%s as %s: no error", tc.url, tc.proto)
			}
			continue
		}
		if err != nil || ep.addr.String() != tc.addr || ep.tls != tc.tls || !ep.external {
			t.Errorf("%s: %+v %v, want %s tls=%v", tc.url, ep, err, tc.addr, tc.tls)
		}
	}
}

func TestOptions(t *testing.T) {
	cases := []struct {
		name string
		o    Options
		ok   bool
	}{
		{"quick", Options{Out: "x", Quick: true}, true},
		{"no out", Options{Quick: true}, false},
		{"time scale too small", Options{Out: "x", TimeScale: 0.0001}, false},
		{"time scale above 1", Options{Out: "x", TimeScale: 2}, false},
		{"bad keepalive", Options{Out: "x", Keepalives: []int{0}}, false},
		{"unknown experiment", Options{Out: "x", Experiments: []string{"bench"}}, false},
		{"too many messages", Options{Out: "x", Messages: maxQueued + 1}, false},
	}
	for _, tc := range cases {
		tc.o.Defaults()
		if err := tc.o.Check(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	q := Options{Quick: true}
	q.Defaults()
	if q.TimeScale != 0.001 || q.Messages != 10 || q.Intervals != 2 || len(q.Keepalives) != 4 {
		t.Errorf("quick defaults %+v", q)
	}
	f := Options{}
	f.Defaults()
	if f.TimeScale != 1 || f.Messages != 100 || f.Size != 1 {
		t.Errorf("full defaults %+v", f)
	}
}
