package handlers

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
)

// Problem is an RFC 9457 problem details object, the one error shape of the
// API. It implements error so handlers can return it.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError names the field (body key or query parameter) at fault.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error describes the problem for logs.
func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

// StatusCode returns the HTTP status of the problem.
func (p *Problem) StatusCode() int { return p.Status }

// NewProblem returns a problem with the standard title for status.
func NewProblem(status int, detail string, errs ...FieldError) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail, Errors: errs}
}

// Problemf returns a problem whose detail is formatted.
func Problemf(status int, format string, args ...any) *Problem {
	return NewProblem(status, fmt.Sprintf(format, args...))
}

// fieldProblem is a 400 about one field.
func fieldProblem(field, message string) *Problem {
	return NewProblem(http.StatusBadRequest, fmt.Sprintf("%s: %s", field, message), FieldError{Field: field, Message: message})
}

// statusError is any error that knows its HTTP status (auth errors, for
// example); the error handler renders its message as the detail.
type statusError interface {
	error
	StatusCode() int
}

// headerError is an error that carries response headers, such as
// WWW-Authenticate.
type headerError interface {
	ProblemHeaders() http.Header
}

// ProblemContentType is the media type of every error response.
const ProblemContentType = "application/problem+json"

// ErrorHandler returns an echo.HTTPErrorHandler that renders every error as
// problem+json: the handlers' own problems, auth failures, Echo's routing
// errors (404, 405, 413) and anything else as a 500 whose cause is logged
// with the request id and never sent to the client.
func ErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := toProblem(err)
		if p.Status >= 500 {
			log.ErrorContext(c.Request().Context(), "request failed",
				"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
				"method", c.Request().Method,
				"path", c.Request().URL.Path,
				"error", err)
		}
		var he headerError
		if errors.As(err, &he) {
			for k, vs := range he.ProblemHeaders() {
				for _, v := range vs {
					c.Response().Header().Add(k, v)
				}
			}
		}
		writeProblem(c, p)
	}
}

func toProblem(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		// Echo's messages for its own errors are fixed texts such as
		// "Not Found"; anything else it carries may be internal.
		if he.Code >= 500 {
			return NewProblem(http.StatusInternalServerError, "the server could not complete the request")
		}
		detail := http.StatusText(he.Code)
		if msg, ok := he.Message.(string); ok {
			detail = msg
		}
		if he.Code == http.StatusRequestEntityTooLarge {
			detail = "the request body is too large"
		}
		return NewProblem(he.Code, detail)
	}
	var se statusError
	if errors.As(err, &se) && se.StatusCode() < 500 {
		return NewProblem(se.StatusCode(), se.Error())
	}
	return NewProblem(http.StatusInternalServerError, "the server could not complete the request")
}

func writeProblem(c echo.Context, p *Problem) {
	if c.Request().Method == http.MethodHead {
		c.Response().Header().Set(echo.HeaderContentType, ProblemContentType)
		_ = c.NoContent(p.Status)
		return
	}
	b, _ := json.Marshal(p) // a Problem always marshals
	_ = c.Blob(p.Status, ProblemContentType, b)
}

// WithRetryAfter returns p with a Retry-After header asking the client to
// wait after, in whole seconds (at least one), before it tries again.
func WithRetryAfter(p *Problem, after time.Duration) error {
	secs := int64(math.Ceil(after.Seconds()))
	if secs < 1 {
		secs = 1
	}
	return &retryProblem{p: p, after: strconv.FormatInt(secs, 10)}
}

type retryProblem struct {
	p     *Problem
	after string
}

func (r *retryProblem) Error() string { return r.p.Error() }
func (r *retryProblem) Unwrap() error { return r.p }

// ProblemHeaders sets Retry-After.
func (r *retryProblem) ProblemHeaders() http.Header {
	return http.Header{"Retry-After": []string{r.after}}
}
