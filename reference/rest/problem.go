package rest

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/wirecheck/wirecheck/reference/rest/store"
)

// problem is an RFC 9457 problem details object. Its XML form follows
// RFC 9457 Appendix B (namespace urn:ietf:rfc:7807). The type is always
// about:blank: the status code says what kind of problem it is, detail
// says what exactly was wrong.
type problem struct {
	XMLName  xml.Name `json:"-" xml:"urn:ietf:rfc:7807 problem"`
	Type     string   `json:"type" xml:"type"`
	Title    string   `json:"title" xml:"title"`
	Status   int      `json:"status" xml:"status"`
	Detail   string   `json:"detail,omitempty" xml:"detail,omitempty"`
	Instance string   `json:"instance,omitempty" xml:"instance,omitempty"`
}

// httpError is an error with the status code it is answered with, a
// human-readable detail, and header fields to add to the problem response.
type httpError struct {
	status int
	detail string
	header http.Header
}

func (e *httpError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.status, http.StatusText(e.status), e.detail)
}

func errorf(status int, format string, args ...any) *httpError {
	if len(args) == 0 {
		return &httpError{status: status, detail: format}
	}
	return &httpError{status: status, detail: fmt.Sprintf(format, args...)}
}

// badRequest is the common 400.
func badRequest(format string, args ...any) *httpError {
	return errorf(http.StatusBadRequest, format, args...)
}

// quoteShort quotes client input for an error message, cut to a length that
// keeps problem documents small whatever the client sent.
func quoteShort(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "…"
	}
	return strconv.Quote(s)
}

// fail answers err as a problem. Store errors map to 404, 409 and 412;
// anything the server does not expect is a 500 whose detail reveals nothing
// and whose cause goes to the log.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	switch {
	case errors.As(err, &he):
	case errors.Is(err, store.ErrNotFound):
		he = errorf(http.StatusNotFound, "no such resource")
	case errors.Is(err, store.ErrExists):
		he = errorf(http.StatusConflict, "the resource already exists")
	case errors.Is(err, store.ErrPrecondition):
		he = errPrecondition()
	case errors.Is(err, store.ErrInvalid):
		he = badRequest("invalid input")
	case r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		// The client went away; nobody is there to read an answer.
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "request abandoned", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("err", err.Error()))
		return
	default:
		h.log.LogAttrs(r.Context(), slog.LevelError, "internal error", slog.String("method", r.Method),
			slog.String("path", r.URL.Path), slog.String("err", err.Error()))
		he = errorf(http.StatusInternalServerError, "the server could not complete the request")
	}
	writeProblem(w, r, he)
}

func errPrecondition() *httpError {
	return errorf(http.StatusPreconditionFailed, "the resource has changed: its current entity tag does not satisfy the request's preconditions")
}

func writeProblem(w http.ResponseWriter, r *http.Request, e *httpError) {
	p := problem{Type: "about:blank", Title: http.StatusText(e.status), Status: e.status,
		Detail: e.detail, Instance: r.URL.EscapedPath()}
	var (
		body []byte
		ct   string
		err  error
	)
	if problemFormat(r) == fmtXML {
		ct = mtProblemXML + "; charset=utf-8"
		body, err = xml.Marshal(p)
		body = append([]byte(xml.Header), body...)
	} else {
		ct = mtProblemJSON
		body, err = json.Marshal(p)
	}
	if err != nil { // cannot happen: strings and an int
		body, ct = nil, ""
	}
	body = append(body, '\n')
	hdr := w.Header()
	for k, v := range e.header {
		hdr[k] = v
	}
	hdr.Del("ETag")
	hdr.Del("Link")
	hdr.Set("Content-Type", ct)
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
