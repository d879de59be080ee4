package energy

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/listeners"
)

// TLS profiles for the captured events.
const (
	// ProfileStudy is the 2012 study's setup as far as ENERGY.md records
	// it: 1024-bit RSA self-signed certificates and mutual certificate
	// authentication on both protocols, from an Android 2.2 client, whose
	// TLS stack spoke TLS 1.0. The cipher suite is not recorded; RSA key
	// exchange with AES-128-CBC-SHA is one both ends of that era offered.
	ProfileStudy = "study"
	// ProfileTLS12 is today's default: TLS 1.2, ECDSA P-256 server
	// certificate, no client certificate.
	ProfileTLS12 = "tls1.2"
)

// Profiles lists the accepted --tls values.
var Profiles = []string{ProfileStudy, ProfileTLS12}

// ProfileDescription says in one line what a profile negotiates.
func ProfileDescription(p string) string {
	switch p {
	case ProfileStudy:
		return "TLS 1.0, TLS_RSA_WITH_AES_128_CBC_SHA, RSA-1024 self-signed certificates, mutual authentication (the study's setup)"
	case ProfileTLS12:
		return "TLS 1.2, ECDHE-ECDSA (X25519, P-256 certificate), server authentication only"
	}
	return p
}

// tlsConfigs returns the server and client configurations of a profile.
func tlsConfigs(profile string) (srv, cli *tls.Config, err error) {
	switch profile {
	case ProfileTLS12:
		srv, certPEM, err := listeners.SelfSigned("127.0.0.1", "::1", "localhost")
		if err != nil {
			return nil, nil, err
		}
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(certPEM)
		return srv, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1",
			MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CurvePreferences: []tls.CurveID{tls.X25519}}, nil
	case ProfileStudy:
		sc, err := rsa1024Cert("wirecheck energy server")
		if err != nil {
			return nil, nil, err
		}
		cc, err := rsa1024Cert("wirecheck energy client")
		if err != nil {
			return nil, nil, err
		}
		suites := []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA}
		// Self-signed both ways, as in the study: each end pins the
		// other's certificate rather than walking a chain.
		srv = &tls.Config{Certificates: []tls.Certificate{sc}, ClientAuth: tls.RequireAnyClientCert,
			MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10, CipherSuites: suites,
			VerifyPeerCertificate: pin(cc)}
		cli = &tls.Config{Certificates: []tls.Certificate{cc}, InsecureSkipVerify: true,
			MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10, CipherSuites: suites,
			VerifyPeerCertificate: pin(sc)}
		return srv, cli, nil
	}
	return nil, nil, fmt.Errorf("unknown TLS profile %q: want one of %v", profile, Profiles)
}

func pin(want tls.Certificate) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 || string(raw[0]) != string(want.Certificate[0]) {
			return fmt.Errorf("peer certificate is not the pinned one")
		}
		return nil
	}
}

func rsa1024Cert(cn string) (tls.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 64))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(1, 0, 0),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
