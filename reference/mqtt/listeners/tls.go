package listeners

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"time"
)

// LoadTLSConfig loads a server certificate and key (PEM) with MinVersion
// TLS 1.2. A non-empty caFile enables client certificates: a client that
// presents one must chain to caFile (VerifyClientCertIfGiven), while clients
// without one still connect and authenticate in CONNECT.
func LoadTLSConfig(certFile, keyFile, caFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	conf := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
	}
	if caFile != "" {
		pemBytes, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("load TLS client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("load TLS client CA %s: no PEM certificate found", caFile)
		}
		conf.ClientCAs = pool
		conf.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return conf, nil
}

// SelfSigned generates an in-memory ECDSA P-256 certificate for hosts (IP
// addresses or DNS names; default 127.0.0.1, ::1 and localhost), valid for one
// year. It is for tests and the --tls-self-signed dev flag. certPEM is the
// certificate alone, for clients to put in their trusted roots.
func SelfSigned(hosts ...string) (conf *tls.Config, certPEM []byte, err error) {
	certPEM, keyPEM, err := SelfSignedPEM(hosts...)
	if err != nil {
		return nil, nil, err
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	conf = &tls.Config{
		Certificates: []tls.Certificate{cert}, // X509KeyPair fills Leaf
		MinVersion:   tls.VersionTLS12,
	}
	return conf, certPEM, nil
}

// SelfSignedPEM is SelfSigned for brokers that read files (mosquitto's
// certfile and keyfile): the certificate and its PKCS #8 private key, PEM
// encoded. The certificate is also a CA, so OpenSSL clients accept it as
// their trust anchor.
func SelfSignedPEM(hosts ...string) (certPEM, keyPEM []byte, err error) {
	if len(hosts) == 0 {
		hosts = []string{"127.0.0.1", "::1", "localhost"}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"wirecheck"}, CommonName: "wirecheck self-signed"},
		NotBefore:    now.Add(-time.Hour), // tolerate client clock skew
		NotAfter:     now.AddDate(1, 0, 0),
		// CA as well as leaf: OpenSSL-based clients (mosquitto_sub --cafile)
		// want their trust anchor to be a CA, Go accepts either.
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		// ClientAuth too, so the same helper makes client certs for mTLS tests.
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if h == "" {
			return nil, nil, errors.New("self-signed certificate: empty host name")
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	return certPEM, keyPEM, nil
}
