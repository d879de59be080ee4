package target

import (
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
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
