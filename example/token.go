package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// token prints an HS256 JWT that the example, started with the same
// -jwt-secret, accepts: the way to try the JWT authenticator without an
// identity provider.
func token(args []string) error {
	fs := flag.NewFlagSet("example token", flag.ExitOnError)
	secret := fs.String("jwt-secret", os.Getenv("AUTOAPI_JWT_SECRET"), "the secret the server was started with (default $AUTOAPI_JWT_SECRET)")
	sub := fs.String("sub", "", "the principal's id, the sub claim (required), e.g. 2 for alice")
	roles := fs.String("role", "user", "the principal's roles, comma-separated, the roles claim")
	ttl := fs.Duration("ttl", time.Hour, "how long the token is valid, the exp claim")
	issuer := fs.String("iss", "", "the iss claim (none when empty)")
	audience := fs.String("aud", "", "the aud claim (none when empty)")
	_ = fs.Parse(args)
	if *secret == "" {
		return errors.New("token: -jwt-secret (or AUTOAPI_JWT_SECRET) is required: the secret the server was started with")
	}
	if *sub == "" {
		return errors.New("token: -sub is required, e.g. -sub 2 for alice")
	}
	if *ttl <= 0 {
		return errors.New("token: -ttl must be a positive duration, e.g. 1h")
	}
	now := time.Now()
	claims := jwt.MapClaims{
		"sub":   *sub,
		"roles": strings.Split(*roles, ","),
		"iat":   now.Unix(),
		"exp":   now.Add(*ttl).Unix(),
	}
	if *issuer != "" {
		claims["iss"] = *issuer
	}
	if *audience != "" {
		claims["aud"] = *audience
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(*secret))
	if err != nil {
		return err
	}
	fmt.Println(s)
	return nil
}
