package auth

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
	// Leeway tolerates clock skew when checking exp, nbf and iat (30s).
	Leeway time.Duration
	// Issuer and Audience, when set, must match the token's iss and aud
	// (one of its audiences). Set both: without them a token the same key
	// signed for another service, or another environment, is accepted.
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
	// required are the registered claims a token must carry, for the
	// detail of the 401 of a token without one.
	required []string
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
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{alg}),
		jwt.WithLeeway(cfg.Leeway),
		// A token issued later than now (beyond the leeway) comes from a
		// clock or an issuer that cannot be trusted with exp either.
		jwt.WithIssuedAt(),
		// Numbers decode as their literal text: as float64 a numeric
		// subject above 2^53 would lose its last digits, and name
		// another principal.
		jwt.WithJSONNumber(),
	}
	var required []string
	if !cfg.AllowNoExpiry {
		opts = append(opts, jwt.WithExpirationRequired())
		required = append(required, "exp")
	}
	if cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(cfg.Issuer))
		required = append(required, "iss")
	}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
		required = append(required, "aud")
	}
	return &JWT{parser: jwt.NewParser(opts...), key: cfg.PublicKey, subject: cfg.SubjectClaim, roles: cfg.RolesClaim, required: required}, nil
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
	_, err = a.parser.ParseWithClaims(token, claims, a.keyFor)
	var refused *Error
	switch {
	case errors.As(err, &refused):
		return Principal{}, refused
	case errors.Is(err, jwt.ErrTokenExpired):
		return Principal{}, invalidToken("the bearer token has expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return Principal{}, invalidToken("the bearer token is not valid yet")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		for _, name := range a.required {
			if _, ok := claims[name]; !ok {
				return Principal{}, invalidToken("the bearer token has no " + name + " claim")
			}
		}
		return Principal{}, invalidToken("the bearer token is not valid")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return Principal{}, invalidToken("the bearer token is from another issuer (iss)")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return Principal{}, invalidToken("the bearer token is for another audience (aud)")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return Principal{}, invalidToken("the bearer token is issued in the future (iat)")
	case err != nil:
		return Principal{}, invalidToken("the bearer token is not valid")
	}
	sub, present := claims[a.subject]
	id, ok := claimString(sub)
	switch {
	case !present || sub == nil || ok && id == "":
		return Principal{}, invalidToken("the bearer token has no " + a.subject + " claim")
	case !ok:
		return Principal{}, invalidToken("the bearer token's " + a.subject + " claim is not a string or an integer")
	}
	roles, ok := claimRoles(claims[a.roles])
	if !ok {
		return Principal{}, invalidToken("the bearer token's " + a.roles + " claim is not a list of strings")
	}
	return Principal{ID: id, Roles: roles}, nil
}

// keyFor is the parser's key function. It refuses, before the signature
// is checked, a token with a crit header: crit lists header extensions the
// recipient must understand or reject the token (RFC 7515 section
// 4.1.11), and this server implements none.
func (a *JWT) keyFor(t *jwt.Token) (any, error) {
	if crit, ok := t.Header["crit"]; ok {
		names, ok := critNames(crit)
		if !ok {
			return nil, invalidToken("the bearer token's crit header is malformed")
		}
		return nil, invalidToken("the bearer token's crit header names extensions this server does not implement: " + strings.Join(names, ", "))
	}
	return a.key, nil
}

// critNames reads a crit header: a non-empty array of strings.
func critNames(v any) ([]string, bool) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, false
	}
	names := make([]string, len(list))
	for i, n := range list {
		if names[i], ok = n.(string); !ok || names[i] == "" {
			return nil, false
		}
	}
	return names, true
}

// claimString reads a string, or an integer written as one (digits with
// an optional minus sign), keeping its digits exactly whatever its size:
// an id is an identifier, not a quantity, so 4.2e1 or 42.0 is refused
// rather than rounded.
func claimString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		s := strings.TrimPrefix(string(v), "-")
		if s != "" && strings.Trim(s, "0123456789") == "" {
			return string(v), true
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
