package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The issuer and audience the example's JWTs carry unless the flags (or
// AUTOAPI_JWT_ISSUER and AUTOAPI_JWT_AUDIENCE) name others. The server
// always checks both: a token the same secret signed for another service,
// or for another environment, is refused.
const (
	defaultJWTIssuer   = "autoapi-example"
	defaultJWTAudience = "autoapi-example-api"
)

// jwtFlags are the JWT settings, shared by the server and the token
// command so that a token minted with the same flags is accepted.
type jwtFlags struct {
	secret, issuer, audience *string
}

func addJWTFlags(fs *flag.FlagSet) jwtFlags {
	env := func(name, fallback string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return fallback
	}
	return jwtFlags{
		secret:   fs.String("jwt-secret", os.Getenv("AUTOAPI_JWT_SECRET"), "accept HS256 JWTs signed with this secret (claims iss, aud, sub, roles, exp), besides the demo tokens (default $AUTOAPI_JWT_SECRET)"),
		issuer:   fs.String("jwt-issuer", env("AUTOAPI_JWT_ISSUER", defaultJWTIssuer), "the iss JWTs must carry (default $AUTOAPI_JWT_ISSUER, or "+defaultJWTIssuer+")"),
		audience: fs.String("jwt-audience", env("AUTOAPI_JWT_AUDIENCE", defaultJWTAudience), "the aud JWTs must carry (default $AUTOAPI_JWT_AUDIENCE, or "+defaultJWTAudience+")"),
	}
}

// mintToken signs an HS256 token for sub, as the example's issuer would.
func mintToken(secret []byte, issuer, audience, sub string, roles []string, ttl time.Duration, now time.Time) (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss":   issuer,
		"aud":   audience,
		"sub":   sub,
		"roles": roles,
		"iat":   now.Unix(),
		"exp":   now.Add(ttl).Unix(),
	}).SignedString(secret)
}

// tokenCommand prints a JWT the server started with the same JWT flags accepts.
func tokenCommand(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("example token", flag.ContinueOnError)
	j := addJWTFlags(fs)
	sub := fs.String("sub", "", "the principal's id, e.g. 2 for alice (required)")
	roles := fs.String("roles", "user", "the principal's roles, comma-separated")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *j.secret == "":
		return errors.New("token: -jwt-secret (or AUTOAPI_JWT_SECRET) is required")
	case *sub == "":
		return errors.New("token: -sub is required")
	case *ttl <= 0:
		return errors.New("token: -ttl must be a positive duration")
	}
	var rs []string
	for _, r := range strings.Split(*roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			rs = append(rs, r)
		}
	}
	s, err := mintToken([]byte(*j.secret), *j.issuer, *j.audience, *sub, rs, *ttl, time.Now())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, s)
	return err
}
