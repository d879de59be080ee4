package target

import (
	"context"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"

	"github.com/wirecheck/wirecheck/internal/syncbuf"
)

func TestNewContainerImage(t *testing.T) {
	t.Setenv("WIRECHECK_CONTAINER_IMAGE", "")
	if got := NewContainer("").Image(); got != DefaultContainerImage {
		t.Errorf("default image %q", got)
	}
	t.Setenv("WIRECHECK_CONTAINER_IMAGE", "example/mq:1")
	if got := NewContainer("").Image(); got != "example/mq:1" {
		t.Errorf("image from environment %q", got)
	}
	if got := NewContainer("other:2").Image(); got != "other:2" {
		t.Errorf("explicit image %q", got)
	}
	tg, err := Parse("container:x/y:3", "")
	if err != nil || tg.(*Container).Image() != "x/y:3" {
		t.Errorf("Parse container:x/y:3 = %v, %v", tg, err)
	}
}

func TestContainerVersionFromLog(t *testing.T) {
	logs := "1: mosquitto version 2.0.11 starting\n1: Config loaded\n1: mosquitto version 2.0.11 running\n"
	if got := mosquittoVersionIn(logs, "img"); got != "mosquitto version 2.0.11" {
		t.Errorf("version %q", got)
	}
	if got := mosquittoVersionIn("nothing", "img:1"); got != "image img:1" {
		t.Errorf("fallback version %q", got)
	}
}

func TestContainer(t *testing.T) {
	image := os.Getenv("WIRECHECK_CONTAINER_IMAGE")
	if image == "" {
		image = OfflineContainerImage
	}
	c := NewContainer(image)
	log := &syncbuf.Buffer{}
	c.Log = log
	t.Cleanup(func() {
		if err := c.Cleanup(); err != nil {
			t.Errorf("Cleanup: %v", err)
		}
		if t.Failed() {
			t.Logf("testcontainers and mosquitto output:\n%s", log)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// Start sets this when unset, but listing networks first would make
	// testcontainers read (and cache) its configuration before that.
	if os.Getenv("TESTCONTAINERS_RYUK_DISABLED") == "" {
		t.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	}
	networksBefore := dockerNetworks(t, ctx)
	start := time.Now()
	err := c.Start(ctx)
	if errors.Is(err, ErrNoDocker) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI installs Docker, yet: %v", err)
		}
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	info := c.Info()
	t.Logf("container target from %s ready in %v: %s at %s", image, time.Since(start), info.Version, info.Addr)
	if info.Kind != "container" || !strings.HasPrefix(info.Version, "mosquitto version ") {
		t.Errorf("Kind %q Version %q", info.Kind, info.Version)
	}
	if after := dockerNetworks(t, ctx); !slices.Equal(networksBefore, after) {
		t.Errorf("networks changed: before %v, after %v (no network may be created)", networksBefore, after)
	}

	exerciseBroker(t, c)

	t.Run("Stop", func(t *testing.T) {
		id := c.ID()
		if id == "" {
			t.Fatal("no container ID while running")
		}
		cli := dockerClient(t, ctx)
		res, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Container.Config.Labels["org.wirecheck.target"] != "container" ||
			res.Container.HostConfig.NetworkMode != "host" {
			t.Errorf("labels %v, network mode %q", res.Container.Config.Labels, res.Container.HostConfig.NetworkMode)
		}
		if err := c.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{}); !cerrdefs.IsNotFound(err) {
			t.Errorf("container %s still there after Stop (inspect: %v)", id, err)
		}
		if nc, err := net.DialTimeout("tcp", info.Addr, time.Second); err == nil {
			nc.Close()
			t.Errorf("%s still accepts connections after Stop", info.Addr)
		}
		if err := c.Stop(ctx); err != nil {
			t.Errorf("second Stop: %v", err)
		}
	})
}

func dockerClient(t *testing.T, ctx context.Context) *testcontainers.DockerClient {
	t.Helper()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// dockerNetworks lists the engine's network names, nil when no engine
// answers (Start then tells why).
func dockerNetworks(t *testing.T, ctx context.Context) []string {
	t.Helper()
	var names []string
	func() {
		defer func() { recover() }() // testcontainers may panic without an engine
		cli, err := testcontainers.NewDockerClientWithOpts(ctx)
		if err != nil {
			return
		}
		defer cli.Close()
		res, err := cli.NetworkList(ctx, client.NetworkListOptions{})
		if err != nil {
			return
		}
		for _, n := range res.Items {
			names = append(names, n.Name)
		}
	}()
	slices.Sort(names)
	return names
}
