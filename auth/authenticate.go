package auth

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Authenticator resolves the caller of a request. It returns
// ErrNoCredentials when the request carries none it understands, so the next
// authenticator (or the anonymous principal) can take over, and an *Error
// with status 401 when it carries credentials that are wrong.
type Authenticator interface {
	Authenticate(r *http.Request) (Principal, error)
}

// AuthenticatorFunc adapts a function to Authenticator.
type AuthenticatorFunc func(r *http.Request) (Principal, error)

// Authenticate calls f(r).
func (f AuthenticatorFunc) Authenticate(r *http.Request) (Principal, error) { return f(r) }

// ErrNoCredentials means the request carries no credentials for this
// authenticator.
var ErrNoCredentials = errors.New("auth: no credentials")

// Error is an authentication or authorization failure with the HTTP status
// it should produce.
type Error struct {
	// Status is the HTTP status, 401 or 403.
	Status int
	// Detail explains the failure to the client.
	Detail string
	// Challenge, when set, is sent as the WWW-Authenticate header.
	Challenge string
}

// Error returns the detail.
func (e *Error) Error() string { return e.Detail }

// StatusCode returns the HTTP status of the failure.
func (e *Error) StatusCode() int { return e.Status }

// ProblemHeaders returns the headers that go with the failure.
func (e *Error) ProblemHeaders() http.Header {
	if e.Challenge == "" {
		return nil
	}
	return http.Header{"Www-Authenticate": []string{e.Challenge}}
}

// Unauthenticated returns the 401 for a caller that must identify itself.
func Unauthenticated(detail string) *Error {
	return &Error{Status: http.StatusUnauthorized, Detail: detail, Challenge: "Bearer"}
}

// BearerToken returns the token of an "Authorization: Bearer <token>" header.
// ok is false when there is no Authorization header; a header in any other
// form is an error.
func BearerToken(r *http.Request) (token string, ok bool, err error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", false, nil
	}
	scheme, token, found := strings.Cut(h, " ")
	if !found || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", true, Unauthenticated("the Authorization header must be \"Bearer <token>\"")
	}
	return strings.TrimSpace(token), true, nil
}

// StaticTokens authenticates "Authorization: Bearer <token>" against a fixed
// table of tokens. It suits demos and service accounts.
type StaticTokens map[string]Principal

// Authenticate implements Authenticator.
func (s StaticTokens) Authenticate(r *http.Request) (Principal, error) {
	token, ok, err := BearerToken(r)
	if err != nil {
		return Principal{}, err
	}
	if !ok {
		return Principal{}, ErrNoCredentials
	}
	p, known := s[token]
	if !known {
		return Principal{}, Unauthenticated("the bearer token is not valid")
	}
	return p, nil
}

// Chain tries each authenticator in turn and returns the first answer that
// is not ErrNoCredentials.
func Chain(as ...Authenticator) Authenticator {
	return AuthenticatorFunc(func(r *http.Request) (Principal, error) {
		for _, a := range as {
			p, err := a.Authenticate(r)
			if !errors.Is(err, ErrNoCredentials) {
				return p, err
			}
		}
		return Principal{}, ErrNoCredentials
	})
}

// Resolve runs a over r: no credentials yield the anonymous principal.
func Resolve(a Authenticator, r *http.Request) (Principal, error) {
	if a == nil {
		return Principal{}, nil
	}
	p, err := a.Authenticate(r)
	if errors.Is(err, ErrNoCredentials) {
		return Principal{}, nil
	}
	var ae *Error
	switch {
	case errors.As(err, &ae):
		return Principal{}, ae
	case err != nil:
		// An authenticator's own failure says nothing about the caller's
		// credentials: %v cuts the chain, so it can only be a 500, logged.
		return Principal{}, fmt.Errorf("auth: authenticator failed: %v", err)
	}
	return p, nil
}
