package listeners

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// connect is a CONNECT packet (MQTT 3.1.1, client ID "wc"), used as payload so
// the bytes on the wire look like what the broker will see.
var connect = []byte{
	0x10, 0x0e, // CONNECT, remaining length 14
	0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
	0x04,       // protocol level 4 (3.1.1)
	0x02,       // connect flags: clean session
	0x00, 0x3c, // keepalive 60 s
	0x00, 0x02, 'w', 'c', // client identifier
}

func TestTCPEcho(t *testing.T) {
	ln := listen(t, SchemeTCP, "", nil)
	accepted := acceptOne(t, ln)
	c, err := net.DialTimeout("tcp", ln.Addr().String(), wait)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc := await(t, accepted, "accept")
	if sc.RemoteAddr().String() != c.LocalAddr().String() {
		t.Errorf("server RemoteAddr = %v, want %v", sc.RemoteAddr(), c.LocalAddr())
	}
	if _, ok := ConnectionState(sc); ok {
		t.Error("ConnectionState reports TLS on a tcp conn")
	}
	serveEcho(t, sc)
	echoRoundTrip(t, c, connect)
}

func TestTLSEcho(t *testing.T) {
	conf, certPEM, err := SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t, SchemeTLS, "", conf)
	tests := []struct {
		name       string
		version    uint16
		serverName string
	}{
		{"TLS 1.2 by IP", tls.VersionTLS12, ""},
		{"TLS 1.3 by IP", tls.VersionTLS13, ""},
		{"TLS 1.3 by name", tls.VersionTLS13, "localhost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			accepted := acceptOne(t, ln)
			d := &tls.Dialer{Config: &tls.Config{
				RootCAs:    pool(t, certPEM),
				ServerName: tt.serverName,
				MinVersion: tt.version,
				MaxVersion: tt.version,
			}}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			if v := c.(*tls.Conn).ConnectionState().Version; v != tt.version {
				t.Fatalf("negotiated %s, want %s", tls.VersionName(v), tls.VersionName(tt.version))
			}
			sc := await(t, accepted, "accept")
			serveEcho(t, sc)
			echoRoundTrip(t, c, connect)
			if st, ok := ConnectionState(sc); !ok || st.Version != tt.version {
				t.Errorf("ConnectionState = %s, %v; want %s", tls.VersionName(st.Version), ok, tls.VersionName(tt.version))
			}
		})
	}
}

func TestTLSUntrustedClientFails(t *testing.T) {
	conf, _, err := SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t, SchemeTLS, "", conf)
	accepted := acceptOne(t, ln)
	_, err = tls.DialWithDialer(&net.Dialer{Timeout: wait}, "tcp", ln.Addr().String(), &tls.Config{})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("dial without the cert in RootCAs: %v, want x509.UnknownAuthorityError", err)
	}
	sc := await(t, accepted, "accept")
	sc.Close()
}

func TestSelfSignedCert(t *testing.T) {
	conf, certPEM, err := SelfSigned("127.0.0.1", "::1", "broker.test")
	if err != nil {
		t.Fatal(err)
	}
	if conf.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion = %x, want TLS 1.2", conf.MinVersion)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("certPEM is not a PEM certificate: %q", certPEM)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key algorithm %v, want ECDSA", cert.PublicKeyAlgorithm)
	}
	if life := cert.NotAfter.Sub(time.Now()); life < 364*24*time.Hour || life > 366*24*time.Hour {
		t.Errorf("valid for %v more, want about a year", life)
	}
	for _, host := range []string{"127.0.0.1", "::1", "broker.test"} {
		if err := cert.VerifyHostname(host); err != nil {
			t.Errorf("VerifyHostname(%s): %v", host, err)
		}
	}
	if err := cert.VerifyHostname("localhost"); err == nil {
		t.Error("cert covers localhost, which was not asked for")
	}
	if _, _, err := SelfSigned(""); err == nil {
		t.Error("SelfSigned(\"\") succeeded")
	}
}

// writePEM stores a SelfSigned config's cert and key as PEM files.
func writePEM(t *testing.T, dir, name string, conf *tls.Config, certPEM []byte) (certFile, keyFile string) {
	t.Helper()
	keyDER, err := x509.MarshalPKCS8PrivateKey(conf.Certificates[0].PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile = filepath.Join(dir, name+".crt")
	keyFile = filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestLoadTLSConfig(t *testing.T) {
	dir := t.TempDir()
	serverConf, serverPEM, err := SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	serverCrt, serverKey := writePEM(t, dir, "server", serverConf, serverPEM)
	clientConf, clientPEM, err := SelfSigned("client")
	if err != nil {
		t.Fatal(err)
	}
	strangerConf, _, err := SelfSigned("stranger")
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "clients-ca.pem")
	if err := os.WriteFile(caFile, clientPEM, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("server only", func(t *testing.T) {
		conf, err := LoadTLSConfig(serverCrt, serverKey, "")
		if err != nil {
			t.Fatal(err)
		}
		if conf.MinVersion != tls.VersionTLS12 || conf.ClientAuth != tls.NoClientCert {
			t.Fatalf("MinVersion %x ClientAuth %v, want TLS 1.2 and no client certs", conf.MinVersion, conf.ClientAuth)
		}
		ln := listen(t, SchemeTLS, "", conf)
		accepted := acceptOne(t, ln)
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: wait}, "tcp", ln.Addr().String(), &tls.Config{RootCAs: pool(t, serverPEM)})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		serveEcho(t, await(t, accepted, "accept"))
		echoRoundTrip(t, c, connect)
	})

	t.Run("client certs", func(t *testing.T) {
		conf, err := LoadTLSConfig(serverCrt, serverKey, caFile)
		if err != nil {
			t.Fatal(err)
		}
		if conf.ClientAuth != tls.VerifyClientCertIfGiven {
			t.Fatalf("ClientAuth = %v, want VerifyClientCertIfGiven", conf.ClientAuth)
		}
		ln := listen(t, SchemeTLS, "", conf)
		tests := []struct {
			name      string
			certs     []tls.Certificate
			wantOK    bool
			wantPeers int
		}{
			{"trusted client cert", clientConf.Certificates, true, 1},
			{"no client cert", nil, true, 0},
			{"untrusted client cert", strangerConf.Certificates, false, 0},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				accepted := acceptOne(t, ln)
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: wait}, "tcp", ln.Addr().String(),
					&tls.Config{RootCAs: pool(t, serverPEM), Certificates: tt.certs})
				if err == nil {
					defer c.Close()
				}
				sc := await(t, accepted, "accept").(*tls.Conn)
				defer sc.Close()
				sc.SetDeadline(time.Now().Add(wait))
				err = sc.Handshake()
				if tt.wantOK != (err == nil) {
					t.Fatalf("server handshake: %v, want success %v", err, tt.wantOK)
				}
				if !tt.wantOK {
					return
				}
				st, ok := ConnectionState(sc)
				if !ok || len(st.PeerCertificates) != tt.wantPeers {
					t.Fatalf("ConnectionState: ok %v, %d peer certs, want %d", ok, len(st.PeerCertificates), tt.wantPeers)
				}
			})
		}
	})

	t.Run("errors", func(t *testing.T) {
		notPEM := filepath.Join(dir, "not.pem")
		if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, cert, key, ca, wantErr string
		}{
			{"missing cert", filepath.Join(dir, "nope.crt"), serverKey, "", "nope.crt"},
			{"key does not match", serverCrt, notPEM, "", "not.pem"},
			{"missing CA", serverCrt, serverKey, filepath.Join(dir, "nope-ca.pem"), "nope-ca.pem"},
			{"CA not PEM", serverCrt, serverKey, notPEM, "no PEM certificate"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := LoadTLSConfig(tt.cert, tt.key, tt.ca)
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("LoadTLSConfig: %v, want error containing %q", err, tt.wantErr)
				}
			})
		}
	})
}
