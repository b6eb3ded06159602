package auth

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWTConfig configures NewJWT.
type JWTConfig struct {
	// Secret is the shared HS256 key. Set it or PublicKey, not both.
	Secret []byte
	// PublicKey verifies RS256 (*rsa.PublicKey) or ES256
	// (*ecdsa.PublicKey) tokens.
	PublicKey any
	// SubjectClaim names the claim holding the principal's id ("sub").
	SubjectClaim string
	// RolesClaim names the claim holding its roles ("roles"): an array of
	// strings, or one string of space-separated roles.
	RolesClaim string
	// Leeway tolerates clock skew when checking exp and nbf (30s).
	Leeway time.Duration
	// Issuer and Audience, when set, must match the token's iss and aud.
	Issuer   string
	Audience string
	// AllowNoExpiry accepts tokens without an exp claim; by default a
	// token that never expires is refused.
	AllowNoExpiry bool
}

// JWT authenticates "Authorization: Bearer <JWT>". A bearer token that is
// not shaped like a JWT is not its business (ErrNoCredentials), so it
// composes with other authenticators in a Chain.
type JWT struct {
	parser  *jwt.Parser
	key     any
	subject string
	roles   string
}

// NewJWT checks cfg and returns the authenticator. The accepted algorithm
// follows from the key, so a token cannot choose its own (no "none", no
// HS256 signed with a public key).
func NewJWT(cfg JWTConfig) (*JWT, error) {
	var alg string
	switch k := cfg.PublicKey.(type) {
	case nil:
		if len(cfg.Secret) == 0 {
			return nil, errors.New("auth: JWT needs a Secret or a PublicKey")
		}
		alg = jwt.SigningMethodHS256.Alg()
		cfg.PublicKey = cfg.Secret
	case *rsa.PublicKey:
		alg = jwt.SigningMethodRS256.Alg()
	case *ecdsa.PublicKey:
		alg = jwt.SigningMethodES256.Alg()
	default:
		return nil, fmt.Errorf("auth: JWT public key of type %T is not supported; use *rsa.PublicKey or *ecdsa.PublicKey", k)
	}
	if len(cfg.Secret) > 0 && alg != jwt.SigningMethodHS256.Alg() {
		return nil, errors.New("auth: JWT takes a Secret or a PublicKey, not both")
	}
	if cfg.SubjectClaim == "" {
		cfg.SubjectClaim = "sub"
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "roles"
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{alg}), jwt.WithLeeway(cfg.Leeway)}
	if !cfg.AllowNoExpiry {
		opts = append(opts, jwt.WithExpirationRequired())
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	return &JWT{parser: jwt.NewParser(opts...), key: cfg.PublicKey, subject: cfg.SubjectClaim, roles: cfg.RolesClaim}, nil
}

// invalidToken is the 401 for a JWT that fails verification (RFC 6750).
func invalidToken(detail string) *Error {
	return &Error{Status: http.StatusUnauthorized, Detail: detail, Challenge: `Bearer error="invalid_token"`}
}

// Authenticate implements Authenticator.
func (a *JWT) Authenticate(r *http.Request) (Principal, error) {
	token, ok, err := BearerToken(r)
	if err != nil {
		return Principal{}, err
	}
	if !ok || strings.Count(token, ".") != 2 {
		return Principal{}, ErrNoCredentials
	}
	claims := jwt.MapClaims{}
	_, err = a.parser.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return a.key, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return Principal{}, invalidToken("the bearer token has expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return Principal{}, invalidToken("the bearer token is not valid yet")
	case err != nil:
		return Principal{}, invalidToken("the bearer token is not valid")
	}
	id, ok := claimString(claims[a.subject])
	if !ok || id == "" {
		return Principal{}, invalidToken("the bearer token has no " + a.subject + " claim")
	}
	roles, ok := claimRoles(claims[a.roles])
	if !ok {
		return Principal{}, invalidToken("the bearer token's " + a.roles + " claim is not a list of strings")
	}
	return Principal{ID: id, Roles: roles}, nil
}

// claimString reads a string or a whole number.
func claimString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		if v == float64(int64(v)) {
			return strconv.FormatInt(int64(v), 10), true
		}
	}
	return "", false
}

// claimRoles reads an array of strings or a space-separated string; a
// missing claim is no roles.
func claimRoles(v any) ([]string, bool) {
	switch v := v.(type) {
	case nil:
		return nil, true
	case string:
		return strings.Fields(v), true
	case []any:
		roles := make([]string, 0, len(v))
		for _, r := range v {
			s, ok := r.(string)
			if !ok {
				return nil, false
			}
			roles = append(roles, s)
		}
		return roles, true
	}
	return nil, false
}
