package target

import (
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"

	"github.com/wirecheck/wirecheck/reference/mqtt/listeners"
)

// Test credentials written for the reference and mosquitto targets.
const (
	testUser        = "wirecheck"
	testPassword    = "wirecheck-secret"
	testDeniedTopic = "wirecheck/denied"
)

// writeAuthFiles writes a password file ($6$, which both the reference
// broker and mosquitto read) and an ACL that allows everything but
// testDeniedTopic, for anonymous clients and for testUser.
func writeAuthFiles(dir string) (passwd, acl string, err error) {
	salt := make([]byte, 12)
	rand.Read(salt)
	h := sha512.Sum512(append([]byte(testPassword), salt...))
	line := fmt.Sprintf("%s:$6$%s$%s\n", testUser, base64.StdEncoding.EncodeToString(salt),
		base64.StdEncoding.EncodeToString(h[:]))
	passwd = filepath.Join(dir, "passwd")
	if err = os.WriteFile(passwd, []byte(line), 0o600); err != nil {
		return
	}
	rules := `topic readwrite #
topic read $SYS/#
topic deny ` + testDeniedTopic + `
topic deny ` + testDeniedTopic + `/#
`
	body := "# written by wirecheck for conformance runs\n" + rules +
		"\nuser " + testUser + "\n" + rules
	acl = filepath.Join(dir, "acl")
	err = os.WriteFile(acl, []byte(body), 0o600)
	return
}

// writeBrokerDir makes a temporary directory holding what a Mosquitto
// target needs besides its config: password file, ACL, and a self-signed
// certificate (cert.pem, key.pem). It returns the directory and the
// certificate for clients to trust.
func writeBrokerDir(prefix string) (dir string, certPEM []byte, err error) {
	if dir, err = os.MkdirTemp("", prefix); err != nil {
		return "", nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if _, _, err = writeAuthFiles(dir); err != nil {
		return "", nil, err
	}
	certPEM, keyPEM, err := listeners.SelfSignedPEM("127.0.0.1", "localhost")
	if err != nil {
		return "", nil, err
	}
	if err = os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o644); err != nil {
		return "", nil, err
	}
	if err = os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600); err != nil {
		return "", nil, err
	}
	return dir, certPEM, nil
}
