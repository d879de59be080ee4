package target

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Profile describes an external broker: what the suite may assume about it.
// Read from the YAML file given with --profile.
type Profile struct {
	Username    string `yaml:"username"`
	Password    string `yaml:"password"`
	DeniedTopic string `yaml:"denied_topic"` // a topic the broker's ACL denies to that user
	TLSAddr     string `yaml:"tls_addr"`     // host:port of a TLS listener
	CAFile      string `yaml:"ca_file"`      // PEM to trust for TLS
	Insecure    bool   `yaml:"insecure_skip_verify"`
	WSURL       string `yaml:"ws_url"`
	Caps        struct {
		Retain           *bool         `yaml:"retain"`
		MaxQoS           *int          `yaml:"max_qos"`
		Wildcards        *bool         `yaml:"wildcards"`
		AnonymousAllowed *bool         `yaml:"anonymous"`
		ConnectTimeout   time.Duration `yaml:"connect_timeout"`
		QueuesQoS0       *bool         `yaml:"queues_qos0_offline"`
		SysTopics        *bool         `yaml:"sys_topics"`
	} `yaml:"capabilities"`
}

// LoadProfile reads a profile file; unknown keys are errors naming the line.
func LoadProfile(path string) (*Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p Profile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	if p.Caps.MaxQoS != nil && (*p.Caps.MaxQoS < 0 || *p.Caps.MaxQoS > 2) {
		return nil, fmt.Errorf("profile %s: capabilities.max_qos must be 0, 1 or 2", path)
	}
	return &p, nil
}

// External is a broker someone else runs, reached by URL. It cannot be
// started, stopped or restarted by the suite.
type External struct {
	url  string
	info Info
}

// NewExternal parses tcp://, mqtt://, ssl://, mqtts:// or ws:// URLs.
func NewExternal(raw, profile string) (*External, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("target %q: %w", raw, err)
	}
	if u.Port() == "" {
		return nil, fmt.Errorf("target %q: give a port, e.g. tcp://127.0.0.1:1883", raw)
	}
	info := Info{Kind: "external", Caps: Capabilities{Retain: true, MaxQoS: 2, Wildcards: true,
		AnonymousAllowed: true, SysTopics: true}}
	switch u.Scheme {
	case "tcp", "mqtt":
		info.Addr = u.Host
	case "ssl", "tls", "mqtts":
		info.TLSAddr = u.Host
		info.Addr = u.Host // specs that need plain TCP dial TLS instead via Info.TLSOnly
		info.TLSOnly = true
	case "ws":
		info.WSURL = raw
	default:
		return nil, fmt.Errorf("target %q: scheme must be tcp, mqtt, ssl, mqtts or ws", raw)
	}
	if profile != "" {
		p, err := LoadProfile(profile)
		if err != nil {
			return nil, err
		}
		if err := applyProfile(&info, p); err != nil {
			return nil, err
		}
	}
	return &External{url: raw, info: info}, nil
}

func applyProfile(info *Info, p *Profile) error {
	info.Username, info.Password, info.DeniedTopic = p.Username, p.Password, p.DeniedTopic
	info.Caps.Auth = p.Username != ""
	info.Caps.ACL = p.DeniedTopic != ""
	if p.TLSAddr != "" {
		info.TLSAddr = p.TLSAddr
	}
	if p.WSURL != "" {
		info.WSURL = p.WSURL
	}
	if info.TLSAddr != "" {
		conf := &tls.Config{InsecureSkipVerify: p.Insecure}
		if p.CAFile != "" {
			pem, err := os.ReadFile(p.CAFile)
			if err != nil {
				return err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("ca_file %s: no PEM certificates", p.CAFile)
			}
			conf.RootCAs = pool
		}
		info.TLSConfig = conf
	}
	c := &info.Caps
	set := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.Retain, p.Caps.Retain)
	set(&c.Wildcards, p.Caps.Wildcards)
	set(&c.AnonymousAllowed, p.Caps.AnonymousAllowed)
	set(&c.SysTopics, p.Caps.SysTopics)
	if p.Caps.MaxQoS != nil {
		c.MaxQoS = byte(*p.Caps.MaxQoS)
	}
	c.ConnectTimeout = p.Caps.ConnectTimeout
	c.QueuesQoS0 = p.Caps.QueuesQoS0
	return nil
}

func (e *External) Name() string { return e.url }

// Start checks the broker answers; it does not launch anything.
func (e *External) Start(ctx context.Context) error {
	addr := e.info.Addr
	if addr == "" {
		u, _ := url.Parse(e.info.WSURL)
		addr = u.Host
	}
	return waitListening(ctx, addr)
}

func (e *External) Stop(context.Context) error    { return nil }
func (e *External) Restart(context.Context) error { return ErrNotSupported }
func (e *External) Info() Info                    { return e.info }
