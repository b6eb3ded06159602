package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/autoapi-go/autoapi/auth"
)

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	return signWithHeader(t, method, key, claims, nil)
}

// signWithHeader signs claims with header fields added to alg and typ.
func signWithHeader(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims, header map[string]any) string {
	t.Helper()
	token := jwt.NewWithClaims(method, claims)
	for k, v := range header {
		token.Header[k] = v
	}
	s, err := token.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func bearer(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

func TestJWT(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	hs, err := auth.NewJWT(auth.JWTConfig{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rs, err := auth.NewJWT(auth.JWTConfig{PublicKey: &rsaKey.PublicKey})
	if err != nil {
		t.Fatal(err)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	es, err := auth.NewJWT(auth.JWTConfig{PublicKey: &ecKey.PublicKey, SubjectClaim: "uid", RolesClaim: "groups"})
	if err != nil {
		t.Fatal(err)
	}
	scoped, err := auth.NewJWT(auth.JWTConfig{Secret: secret, Issuer: "https://id.example.com", Audience: "orders-api"})
	if err != nil {
		t.Fatal(err)
	}
	short, err := auth.NewJWT(auth.JWTConfig{Secret: secret, Leeway: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	valid := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "2", "roles": []string{"user"}, "exp": now.Add(time.Hour).Unix()}
		for k, v := range extra {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	otherSecret := []byte("another secret, another issuer!!")
	cases := []struct {
		name   string
		a      auth.Authenticator
		token  string
		id     string
		roles  string
		detail string // set when the token must be refused
	}{
		{name: "HS256", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(nil)), id: "2", roles: "user"},
		{name: "numeric subject and space-separated roles", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"sub": 42, "roles": "user admin"})), id: "42", roles: "user,admin"},
		{name: "no roles claim", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"roles": nil})), id: "2"},
		{name: "RS256", a: rs, token: sign(t, jwt.SigningMethodRS256, rsaKey, valid(nil)), id: "2", roles: "user"},
		{name: "ES256 with custom claims", a: es, token: sign(t, jwt.SigningMethodES256, ecKey, jwt.MapClaims{"uid": "7", "groups": []string{"ops"}, "exp": now.Add(time.Hour).Unix()}), id: "7", roles: "ops"},
		{name: "expired within the leeway", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"exp": now.Add(-10 * time.Second).Unix()})), id: "2", roles: "user"},
		{name: "expired", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"exp": now.Add(-time.Hour).Unix()})), detail: "expired"},
		{name: "not valid yet", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"nbf": now.Add(time.Hour).Unix()})), detail: "not valid yet"},
		{name: "wrong key", a: hs, token: sign(t, jwt.SigningMethodHS256, otherSecret, valid(nil)), detail: "not valid"},
		{name: "wrong algorithm", a: rs, token: sign(t, jwt.SigningMethodHS256, secret, valid(nil)), detail: "not valid"},
		{name: "HS256 signed with the public key", a: rs, token: sign(t, jwt.SigningMethodHS256, rsaKey.PublicKey.N.Bytes(), valid(nil)), detail: "not valid"},
		{name: "alg none", a: hs, token: sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid(nil)), detail: "not valid"},
		{name: "missing subject", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"sub": nil})), detail: "no sub claim"},
		{name: "missing expiry", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"exp": nil})), detail: "no exp claim"},
		{name: "roles of the wrong type", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"roles": []any{1, 2}})), detail: "roles claim"},
		{name: "malformed", a: hs, token: "a.b.c", detail: "not valid"},

		// With an issuer and an audience set, a token minted with the same
		// key for another service or by another issuer is refused.
		{name: "issuer and audience", a: scoped, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"iss": "https://id.example.com", "aud": "orders-api"})), id: "2", roles: "user"},
		{name: "one of several audiences", a: scoped, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"iss": "https://id.example.com", "aud": []string{"billing-api", "orders-api"}})), id: "2", roles: "user"},
		{name: "another audience", a: scoped, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"iss": "https://id.example.com", "aud": "billing-api"})), detail: "for another audience (aud)"},
		{name: "no audience", a: scoped, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"iss": "https://id.example.com"})), detail: "no aud claim"},
		{name: "another issuer", a: scoped, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"iss": "https://id.staging.example.com", "aud": "orders-api"})), detail: "from another issuer (iss)"},
		{name: "no issuer", a: scoped, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"aud": "orders-api"})), detail: "no iss claim"},

		// A numeric subject keeps its exact digits: as a float64, 2^53+1
		// would be read as 2^53, another principal.
		{name: "numeric subject above 2^53", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"sub": uint64(9007199254740993)})), id: "9007199254740993", roles: "user"},
		{name: "numeric subject beyond 64 bits", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"sub": json.Number("123456789012345678901234567890")})), id: "123456789012345678901234567890", roles: "user"},
		{name: "negative numeric subject", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"sub": -5})), id: "-5", roles: "user"},
		{name: "fractional subject", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"sub": 4.5})), detail: "sub claim is not a string or an integer"},
		{name: "subject in exponent notation", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"sub": json.Number("4.2e1")})), detail: "sub claim is not a string or an integer"},
		{name: "null subject", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"sub": json.RawMessage("null")})), detail: "no sub claim"},
		{name: "subject of the wrong type", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"sub": []string{"1"}})), detail: "sub claim is not a string or an integer"},

		// A crit header names extensions the recipient must implement or
		// refuse the token (RFC 7515 section 4.1.11); none is implemented.
		{name: "crit header", a: hs, token: signWithHeader(t, jwt.SigningMethodHS256, secret, valid(nil), map[string]any{"crit": []string{"exp"}, "exp": 1}), detail: "crit header names extensions this server does not implement: exp"},
		{name: "crit header with b64", a: rs, token: signWithHeader(t, jwt.SigningMethodRS256, rsaKey, valid(nil), map[string]any{"crit": []string{"b64"}, "b64": true}), detail: "does not implement: b64"},
		{name: "crit header not an array", a: hs, token: signWithHeader(t, jwt.SigningMethodHS256, secret, valid(nil), map[string]any{"crit": "exp"}), detail: "crit header is malformed"},
		{name: "crit header empty", a: hs, token: signWithHeader(t, jwt.SigningMethodHS256, secret, valid(nil), map[string]any{"crit": []string{}}), detail: "crit header is malformed"},
		{name: "crit header null", a: hs, token: signWithHeader(t, jwt.SigningMethodHS256, secret, valid(nil), map[string]any{"crit": nil}), detail: "crit header is malformed"},
		{name: "crit header of numbers", a: hs, token: signWithHeader(t, jwt.SigningMethodHS256, secret, valid(nil), map[string]any{"crit": []int{1}}), detail: "crit header is malformed"},
		{name: "another unknown header is no matter", a: hs, token: signWithHeader(t, jwt.SigningMethodHS256, secret, valid(nil), map[string]any{"kid": "k1", "x-custom": 1}), id: "2", roles: "user"},

		// iat in the future beyond the leeway is refused.
		{name: "issued in the past", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"iat": now.Add(-time.Hour).Unix()})), id: "2", roles: "user"},
		{name: "issued in the future within the leeway", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"iat": now.Add(10 * time.Second).Unix()})), id: "2", roles: "user"},
		{name: "issued in the future", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"iat": now.Add(time.Hour).Unix()})), detail: "issued in the future"},
		{name: "issued in the future beyond a shorter leeway", a: short, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"iat": now.Add(10 * time.Second).Unix()})), detail: "issued in the future"},
		{name: "iat not a number", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"iat": "yesterday"})), detail: "not valid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.a.Authenticate(bearer(tc.token))
			if tc.detail != "" {
				var ae *auth.Error
				if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(ae.Detail, tc.detail) ||
					ae.ProblemHeaders().Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
					t.Fatalf("error %v, want a 401 invalid_token mentioning %q", err, tc.detail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.ID != tc.id || strings.Join(p.Roles, ",") != tc.roles {
				t.Fatalf("principal %+v, want id %s roles %s", p, tc.id, tc.roles)
			}
		})
	}

	// A bearer token that is not a JWT is left to the next authenticator.
	chain := auth.Chain(hs, auth.StaticTokens{"admin-token": {ID: "1", Roles: []string{"admin"}}})
	p, err := chain.Authenticate(bearer("admin-token"))
	if err != nil || p.ID != "1" {
		t.Fatalf("static token through the chain: %+v %v", p, err)
	}
	if _, err := auth.NewJWT(auth.JWTConfig{}); err == nil {
		t.Fatal("a JWT authenticator without a key should fail")
	}
}
