package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
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
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
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
		{name: "missing expiry", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"exp": nil})), detail: "not valid"},
		{name: "roles of the wrong type", a: hs, token: sign(t, jwt.SigningMethodHS256, secret, valid(jwt.MapClaims{"roles": []any{1, 2}})), detail: "roles claim"},
		{name: "malformed", a: hs, token: "a.b.c", detail: "not valid"},
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
