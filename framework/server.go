package framework

import (
	"cmp"
	"net/http"
	"time"
)

// ServerTimeouts bound how long one connection may take, so that a slow or
// stalled client cannot hold it, and the goroutine serving it, forever.
// Zero fields take the defaults of DefaultServerTimeouts.
type ServerTimeouts struct {
	// ReadHeader bounds reading a request's headers.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included.
	Read time.Duration
	// Write bounds the time from the end of the request's headers to the
	// end of the response.
	Write time.Duration
	// Idle bounds how long a kept-alive connection waits for its next
	// request.
	Idle time.Duration
}

// DefaultServerTimeouts are timeouts that suit an API of small JSON
// bodies: a client has 5 seconds to send its headers, 30 for its whole
// request, and the server 60 to answer; a kept-alive connection idles for
// up to 2 minutes.
func DefaultServerTimeouts() ServerTimeouts {
	return ServerTimeouts{ReadHeader: 5 * time.Second, Read: 30 * time.Second, Write: 60 * time.Second, Idle: 2 * time.Minute}
}

// NewServer returns an *http.Server that serves h on addr with t's
// timeouts, each zero one taken from DefaultServerTimeouts. Stop it with
// Shutdown, which lets requests in flight finish.
func NewServer(addr string, h http.Handler, t ServerTimeouts) *http.Server {
	d := DefaultServerTimeouts()
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: cmp.Or(t.ReadHeader, d.ReadHeader),
		ReadTimeout:       cmp.Or(t.Read, d.Read),
		WriteTimeout:      cmp.Or(t.Write, d.Write),
		IdleTimeout:       cmp.Or(t.Idle, d.Idle),
	}
}
