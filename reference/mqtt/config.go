package mqtt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// FileConfig is the YAML configuration file. Every key matches a command-line
// flag of `wirecheck broker`; flags given on the command line win.
type FileConfig struct {
	Listen         []string      `yaml:"listen"`
	Data           string        `yaml:"data"`
	PasswordFile   string        `yaml:"password_file"`
	ACLFile        string        `yaml:"acl_file"`
	AllowAnonymous *bool         `yaml:"allow_anonymous"`
	TLSCert        string        `yaml:"tls_cert"`
	TLSKey         string        `yaml:"tls_key"`
	TLSCA          string        `yaml:"tls_ca"`
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	MaxPacketSize  int           `yaml:"max_packet_size"`
	MaxConnections int           `yaml:"max_connections"`
	MaxInflight    int           `yaml:"max_inflight"`
	MaxQueued      int           `yaml:"max_queued"`
	SysInterval    time.Duration `yaml:"sys_interval"`
	LogLevel       string        `yaml:"log_level"`
	LogFormat      string        `yaml:"log_format"`
}

// LoadConfig reads a YAML config file. Unknown keys and wrong types are
// errors that name the file and line.
func LoadConfig(path string) (*FileConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var fc FileConfig
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if err := fc.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &fc, nil
}

func (fc *FileConfig) validate() error {
	for _, kv := range []struct {
		name string
		v    int
	}{{"max_packet_size", fc.MaxPacketSize}, {"max_connections", fc.MaxConnections},
		{"max_inflight", fc.MaxInflight}, {"max_queued", fc.MaxQueued}} {
		if kv.v < 0 {
			return fmt.Errorf("%s: must not be negative, got %d", kv.name, kv.v)
		}
	}
	if fc.MaxInflight > 65535 {
		return fmt.Errorf("max_inflight: at most 65535 (packet identifiers), got %d", fc.MaxInflight)
	}
	if fc.ConnectTimeout < 0 {
		return fmt.Errorf("connect_timeout: must not be negative")
	}
	if (fc.TLSCert == "") != (fc.TLSKey == "") {
		return fmt.Errorf("tls_cert and tls_key go together")
	}
	return nil
}
