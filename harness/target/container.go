package target

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/wirecheck/wirecheck/internal/loopback"
)

// ErrNoDocker is returned by Container.Start when no Docker engine answers.
var ErrNoDocker = errors.New("no Docker engine: install docker.io and start dockerd --bridge=none --iptables=false --ip-masq=false; make test does this as root")

// ErrNoImage is returned by Container.Start when the image is neither
// present nor pullable.
var ErrNoImage = errors.New("container image missing")

// DefaultContainerImage is what the container target runs unless told
// otherwise (argument, then WIRECHECK_CONTAINER_IMAGE).
const DefaultContainerImage = "eclipse-mosquitto:2"

// OfflineContainerImage is the image harness/target/mkimage.sh builds from
// Debian's mosquitto when no registry is reachable.
const OfflineContainerImage = "wirecheck/mosquitto:2.0.11-debian"

// Paths inside the container.
const (
	containerConfDir = "/mosquitto/config"
	containerDataDir = "/mosquitto/data"
)

// Container runs Mosquitto in a container through testcontainers-go, on the
// host's network namespace (no bridge network is ever created) and on random
// loopback ports, configured like the Mosquitto process target.
//
// It needs TESTCONTAINERS_RYUK_DISABLED=true (Start sets it when unset: the
// Ryuk image may not be pullable, and Stop removes the container anyway). A
// container left by a killed test run carries the label
// org.wirecheck.target=container:
//
//	docker rm -f $(docker ps -aq --filter label=org.wirecheck.target=container)
type Container struct {
	// Log receives testcontainers' messages and the broker's output;
	// nil means io.Discard. Read at each start, when testcontainers'
	// process-wide default logger (its "Connected to docker" banner) is
	// pointed at it too.
	Log io.Writer

	image string

	mu       sync.Mutex
	provider *testcontainers.DockerProvider
	ctr      testcontainers.Container
	running  bool
	dir      string // host copy of the files given to the container
	conf     mosquittoConf
	certPEM  []byte
	info     Info
	logs     *replaySkipper
}

// NewContainer returns a container target for image ("" means
// $WIRECHECK_CONTAINER_IMAGE, else eclipse-mosquitto:2); Start runs it.
func NewContainer(image string) *Container {
	if image == "" {
		image = os.Getenv("WIRECHECK_CONTAINER_IMAGE")
	}
	if image == "" {
		image = DefaultContainerImage
	}
	return &Container{image: image}
}

func init() { kinds["container"] = func(image string) Target { return NewContainer(image) } }

func (c *Container) Name() string { return "container" }

// Image is the image the target runs.
func (c *Container) Image() string { return c.image }

// ID is the running container's ID, "" when there is none.
func (c *Container) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctr == nil {
		return ""
	}
	return c.ctr.GetContainerID()
}

func (c *Container) Info() Info {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.info
}

func (c *Container) logWriter() io.Writer {
	if c.Log == nil {
		return io.Discard
	}
	return c.Log
}

func (c *Container) Start(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return nil
	}
	if c.ctr != nil { // a failed Restart left it stopped
		return c.startExistingLocked(ctx)
	}
	if err := requireRyukDisabled(); err != nil {
		return err
	}
	logger := log.New(c.logWriter(), "testcontainers: ", 0)
	tclog.SetDefault(logger)
	p, err := dockerProvider(ctx, logger)
	if err != nil {
		return err
	}
	if !p.Config().RyukDisabled {
		p.Close()
		return errors.New("testcontainers read its configuration before TESTCONTAINERS_RYUK_DISABLED=true was set; set it in the environment")
	}
	if err := ensureImage(ctx, p, c.image); err != nil {
		p.Close()
		return err
	}
	if c.dir == "" {
		if err := c.prepare(); err != nil {
			p.Close()
			return err
		}
	}
	c.provider = p
	err = c.createAndStart(ctx)
	if err != nil && c.conf.WS != 0 && strings.Contains(err.Error(), "Websockets support not available") {
		// An image built without libwebsockets: go on without that listener.
		c.conf.WS = 0
		if err = c.writeConf(); err == nil {
			err = c.createAndStart(ctx)
		}
	}
	if err != nil {
		p.Close()
		c.provider = nil
		return err
	}
	return nil
}

// requireRyukDisabled sets TESTCONTAINERS_RYUK_DISABLED=true when unset and
// refuses any other value.
func requireRyukDisabled() error {
	const key = "TESTCONTAINERS_RYUK_DISABLED"
	v, ok := os.LookupEnv(key)
	if !ok {
		return os.Setenv(key, "true")
	}
	if b, err := strconv.ParseBool(v); err != nil || !b {
		return fmt.Errorf("%s=%q: the container target needs it true (Ryuk's image cannot be assumed pullable; Stop removes the container itself)", key, v)
	}
	return nil
}

// dockerProvider connects to the Docker engine with "host" as the network
// testcontainers treats as default. (v0.45 has no DefaultNetwork option;
// with WithDefaultBridgeNetwork("host") it finds that network in the
// engine's list, so it neither creates its own bridge network nor attaches
// the container to one.) A missing engine is ErrNoDocker, also when
// testcontainers panics over it.
func dockerProvider(ctx context.Context, logger *log.Logger) (p *testcontainers.DockerProvider, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("%w (testcontainers: %v)", ErrNoDocker, r)
		}
	}()
	p, err = testcontainers.NewDockerProvider(testcontainers.WithLogger(logger),
		testcontainers.WithDefaultBridgeNetwork("host"))
	if err != nil {
		return nil, fmt.Errorf("%w (%v)", ErrNoDocker, err)
	}
	hctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := p.Health(hctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("%w (%v)", ErrNoDocker, err)
	}
	return p, nil
}

// ensureImage makes sure image is present, pulling it once if a registry
// answers; otherwise it says how to build the offline one.
func ensureImage(ctx context.Context, p *testcontainers.DockerProvider, image string) error {
	cli := p.Client()
	_, err := cli.ImageInspect(ctx, image)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect image %s: %w", image, err)
	}
	resp, err := cli.ImagePull(ctx, image, client.ImagePullOptions{})
	if err == nil {
		err = resp.Wait(ctx)
	}
	if err != nil {
		hint := "run harness/target/mkimage.sh (as root, dockerd running) to build it offline from Debian's mosquitto"
		if image != OfflineContainerImage {
			hint = "harness/target/mkimage.sh (as root, dockerd running) builds " + OfflineContainerImage +
				" offline from Debian's mosquitto: run it and use WIRECHECK_CONTAINER_IMAGE=" + OfflineContainerImage +
				" or --target container:" + OfflineContainerImage
		}
		return fmt.Errorf("%w: %s is not present and could not be pulled (%v); without a registry, %s", ErrNoImage, image, err, hint)
	}
	return nil
}

// prepare writes the configuration, credentials and certificate the
// container gets, and picks its ports, once.
func (c *Container) prepare() (err error) {
	dir, certPEM, err := writeBrokerDir("wirecheck-container-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	// Copying a file into the data directory makes sure it exists, whatever
	// the image (mosquitto does not create persistence_location).
	if err = os.WriteFile(filepath.Join(dir, "keep"), nil, 0o644); err != nil {
		return err
	}
	// The container runs as root: "user root" keeps mosquitto from
	// switching to a user that the image may not have.
	mc := mosquittoConf{Dir: containerConfDir, DataDir: containerDataDir, Root: true}
	for _, port := range []*int{&mc.Plain, &mc.TLS, &mc.WS} {
		if *port, err = loopback.FreePort(); err != nil {
			return err
		}
	}
	c.dir, c.conf, c.certPEM = dir, mc, certPEM
	return c.writeConf()
}

func (c *Container) writeConf() error {
	c.info = c.conf.info("container", "", c.certPEM)
	return os.WriteFile(filepath.Join(c.dir, "mosquitto.conf"), []byte(c.conf.String()), 0o644)
}

func (c *Container) request() testcontainers.ContainerRequest {
	file := func(name, dst string, mode int64) testcontainers.ContainerFile {
		return testcontainers.ContainerFile{HostFilePath: filepath.Join(c.dir, name), ContainerFilePath: dst, FileMode: mode}
	}
	conf := containerConfDir + "/mosquitto.conf"
	c.logs = &replaySkipper{w: c.logWriter()}
	req := testcontainers.ContainerRequest{
		Image:  c.image,
		Cmd:    []string{"/usr/sbin/mosquitto", "-c", conf},
		Labels: map[string]string{"org.wirecheck.target": "container"},
		Files: []testcontainers.ContainerFile{
			file("mosquitto.conf", conf, 0o644),
			file("passwd", containerConfDir+"/passwd", 0o600),
			file("acl", containerConfDir+"/acl", 0o644),
			file("cert.pem", containerConfDir+"/cert.pem", 0o644),
			file("key.pem", containerConfDir+"/key.pem", 0o600),
			file("keep", containerDataDir+"/.keep", 0o644),
		},
		HostConfigModifier: func(hc *container.HostConfig) {
			hc.NetworkMode = "host"
		},
		WaitingFor:     listening{addrs: c.conf.addrs(), timeout: 60 * time.Second},
		LogConsumerCfg: &testcontainers.LogConsumerConfig{Consumers: []testcontainers.LogConsumer{c.logs}},
	}
	return req
}

// createAndStart creates the container and starts it; on failure it removes
// what it created and returns an error carrying the broker's log.
func (c *Container) createAndStart(ctx context.Context) error {
	ctr, err := c.provider.CreateContainer(ctx, c.request())
	if err != nil {
		if ctr != nil {
			terminate(ctr)
		}
		return fmt.Errorf("create container from %s: %w", c.image, err)
	}
	c.ctr = ctr
	if err := c.startExistingLocked(ctx); err != nil {
		terminate(ctr)
		c.ctr = nil
		return err
	}
	return nil
}

// startExistingLocked starts c.ctr (new or stopped) and waits until mosquitto
// listens; the version comes from its log.
func (c *Container) startExistingLocked(ctx context.Context) error {
	if err := c.ctr.Start(ctx); err != nil {
		return fmt.Errorf("start mosquitto container from %s: %w; its log:\n%s", c.image, err, containerLogs(c.ctr))
	}
	c.running = true
	c.info.Version = mosquittoVersionIn(containerLogs(c.ctr), c.image)
	return nil
}

func terminate(ctr testcontainers.Container) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ctr.Terminate(ctx, testcontainers.StopTimeout(5*time.Second))
}

// containerLogs returns what the container has logged so far.
func containerLogs(ctr testcontainers.Container) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := ctr.Logs(ctx)
	if err != nil {
		return fmt.Sprintf("(logs unavailable: %v)", err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
	return string(b)
}

var versionLine = regexp.MustCompile(`mosquitto version (\S+) (?:starting|running)`)

// mosquittoVersionIn finds "mosquitto version X" in a broker's log (the
// last one, after restarts), falling back to the image name.
func mosquittoVersionIn(logs, image string) string {
	all := versionLine.FindAllStringSubmatch(logs, -1)
	if len(all) == 0 {
		return "image " + image
	}
	return "mosquitto version " + all[len(all)-1][1]
}

func (c *Container) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stopLocked(ctx)
}

// stopLocked terminates (stops and removes) the container.
func (c *Container) stopLocked(ctx context.Context) error {
	if c.ctr == nil {
		return nil
	}
	err := c.ctr.Terminate(ctx, testcontainers.StopTimeout(mosquittoStopGrace))
	c.ctr, c.running = nil, false
	if c.provider != nil {
		c.provider.Close()
		c.provider = nil
	}
	if err != nil {
		return fmt.Errorf("remove mosquitto container: %w", err)
	}
	return nil
}

// Restart stops the container (mosquitto saves its persistence file on
// SIGTERM, inside the container) and starts the same container again, on
// the same ports.
func (c *Container) Restart(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctr == nil {
		return errors.New("restart container: not started")
	}
	grace := mosquittoStopGrace
	if c.running {
		if err := c.ctr.Stop(ctx, &grace); err != nil {
			return fmt.Errorf("stop mosquitto container: %w", err)
		}
		c.running = false
	}
	c.logs.skipReplay()
	return c.startExistingLocked(ctx)
}

// Cleanup removes the container if it is still there and the temporary
// directory; a later Start prepares anew (new ports, no state).
func (c *Container) Cleanup() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	stopErr := c.stopLocked(context.Background())
	if c.dir == "" {
		return stopErr
	}
	err := os.RemoveAll(c.dir)
	c.dir = ""
	return errors.Join(stopErr, err)
}

// listening is a wait strategy for host networking: mosquitto is ready when
// every loopback address accepts TCP connections. It gives up at once if the
// container exits.
type listening struct {
	addrs   []string
	timeout time.Duration
}

func (l listening) String() string {
	return "TCP listeners on " + strings.Join(l.addrs, ", ")
}

func (l listening) WaitUntilReady(ctx context.Context, t wait.StrategyTarget) error {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	for {
		st, err := t.State(ctx)
		if err != nil {
			return fmt.Errorf("container state: %w", err)
		}
		if !st.Running {
			return fmt.Errorf("container %s (exit code %d)", st.Status, st.ExitCode)
		}
		ready := true
		for _, a := range l.addrs {
			pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
			err := waitListening(pctx, a)
			pcancel()
			if err != nil {
				ready = false
				break
			}
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mosquitto not listening on %s: %w", strings.Join(l.addrs, ", "), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// replaySkipper passes container output to w. testcontainers replays the
// whole log when a stopped container starts again; skipReplay makes it drop
// the bytes it has already passed on.
type replaySkipper struct {
	mu   sync.Mutex
	w    io.Writer
	seen int
	skip int
}

func (r *replaySkipper) Accept(l testcontainers.Log) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := l.Content
	if r.skip > 0 {
		n := min(r.skip, len(b))
		r.skip -= n
		b = b[n:]
	}
	if len(b) == 0 {
		return
	}
	r.seen += len(b)
	r.w.Write(b)
}

func (r *replaySkipper) skipReplay() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.skip = r.seen
}

// DockerAvailable reports whether a Docker engine answers; the error wraps
// ErrNoDocker when none does. Tests use it to decide between running the
// container target and skipping with a reason.
func DockerAvailable() error {
	if err := requireRyukDisabled(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p, err := dockerProvider(ctx, log.New(io.Discard, "", 0))
	if err != nil {
		return err
	}
	return p.Close()
}
