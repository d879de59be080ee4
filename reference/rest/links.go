package rest

import (
	"encoding/xml"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// link is a hypermedia control: the "links" array of every representation
// ({"rel": "self", "href": "http://…"}), <link rel="…" href="…"/> in XML,
// and the same links in the Link header field (RFC 8288), which is where a
// JSON array (the sensor and task lists) carries its own.
type link struct {
	Rel  string `json:"rel" xml:"rel,attr"`
	Href string `json:"href" xml:"href,attr"`
}

// base is the absolute URL prefix of the server as the client addressed it:
// https when the connection is TLS, the Host header field as the authority.
// No X-Forwarded-* field is trusted.
func base(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" { // HTTP/1.0 without Host: the address the client reached
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			host = a.String()
		} else {
			host = "localhost"
		}
	}
	return scheme + "://" + host
}

func sensorsPath() string                  { return "/sensors" }
func sensorPath(name string) string        { return "/sensors/" + url.PathEscape(name) }
func readingsPath(name string) string      { return sensorPath(name) + "/readings" }
func tasksPath() string                    { return "/tasks/" }
func taskPath(id int64) string             { return "/tasks/" + strconv.FormatInt(id, 10) + "/" }
func abs(r *http.Request, p string) string { return base(r) + p }

func sensorLinks(r *http.Request, name string) []link {
	return []link{
		{"self", abs(r, sensorPath(name))},
		{"collection", abs(r, sensorsPath())},
		{"readings", abs(r, readingsPath(name))},
	}
}

func taskLinks(r *http.Request, id int64) []link {
	return []link{
		{"self", abs(r, taskPath(id))},
		{"collection", abs(r, tasksPath())},
	}
}

// linkHeader renders links as a Link field value (RFC 8288 §3).
func linkHeader(links []link) string {
	var b strings.Builder
	for i, l := range links {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("<" + l.Href + `>; rel="` + l.Rel + `"`)
	}
	return b.String()
}

// root is GET /: the entry point, links to the collections.
type rootRep struct {
	XMLName xml.Name `json:"-" xml:"api"`
	Links   []link   `json:"links" xml:"links>link"`
}

func (h *handler) getRoot(w http.ResponseWriter, r *http.Request, v variant) error {
	links := []link{{"self", abs(r, "/")}, {"sensors", abs(r, sensorsPath())}, {"tasks", abs(r, tasksPath())}}
	body, err := encode(v, rootRep{Links: links}, nil)
	if err != nil {
		return err
	}
	return sendCollection(w, r, v, body, links)
}
