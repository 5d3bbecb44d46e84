// Package credential issues and checks the MQTT passwords of devices, responder apps
// and the gateway itself.
//
// A password is 24 random bytes in unpadded base64url (32 characters), far beyond
// guessing, so its hash needs no expensive stretching. Hashes are kept in Mosquitto 2's
// own password-file format, "$7$<iterations>$<salt>$<hash>" (PBKDF2-HMAC-SHA512, the
// format mosquitto_passwd writes), so the registry holds exactly what `gateway broker
// export` writes for Mosquitto, and the embedded broker checks the same strings.
package credential

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

const (
	// Iterations is mosquitto_passwd's default for the $7$ format.
	Iterations = 101
	saltBytes  = 12
	hashBytes  = sha512.Size
	// secretBytes of randomness in a generated password.
	secretBytes = 24
	// maxIterations bounds the work a stored hash can ask of Verify.
	maxIterations = 1_000_000
)

// ErrFormat is returned for a hash that is not in the $7$ format.
var ErrFormat = errors.New("credential: not a $7$ PBKDF2-SHA512 hash")

// NewPassword returns a new random password.
func NewPassword() string {
	b := make([]byte, secretBytes)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hash returns password's hash in Mosquitto's $7$ format with a fresh salt.
func Hash(password string) string {
	salt := make([]byte, saltBytes)
	rand.Read(salt) //nolint:errcheck // never fails
	return format(Iterations, salt, derive(password, salt, Iterations))
}

// Verify reports whether password matches hash. A malformed hash never matches.
func Verify(hash, password string) bool {
	iter, salt, want, err := parse(hash)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(derive(password, salt, iter), want) == 1
}

// Check returns ErrFormat (with what is wrong) unless hash is a well-formed $7$ hash.
func Check(hash string) error {
	_, _, _, err := parse(hash)
	return err
}

func derive(password string, salt []byte, iter int) []byte {
	key, err := pbkdf2.Key(sha512.New, password, salt, iter, hashBytes)
	if err != nil { // only in FIPS-140 mode with a too-short key; not ours
		panic(fmt.Sprintf("credential: pbkdf2: %v", err))
	}
	return key
}

func format(iter int, salt, key []byte) string {
	return "$7$" + strconv.Itoa(iter) + "$" + base64.StdEncoding.EncodeToString(salt) + "$" +
		base64.StdEncoding.EncodeToString(key)
}

func parse(hash string) (iter int, salt, key []byte, err error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "7" {
		return 0, nil, nil, fmt.Errorf("%w: want $7$iterations$salt$hash", ErrFormat)
	}
	iter, err = strconv.Atoi(parts[2])
	if err != nil || iter < 1 || iter > maxIterations {
		return 0, nil, nil, fmt.Errorf("%w: iterations %q", ErrFormat, parts[2])
	}
	if salt, err = base64.StdEncoding.DecodeString(parts[3]); err != nil || len(salt) == 0 {
		return 0, nil, nil, fmt.Errorf("%w: salt is not base64", ErrFormat)
	}
	if key, err = base64.StdEncoding.DecodeString(parts[4]); err != nil || len(key) != hashBytes {
		return 0, nil, nil, fmt.Errorf("%w: hash is not 64 bytes of base64", ErrFormat)
	}
	return iter, salt, key, nil
}
