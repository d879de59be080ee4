package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/harness/energy"
)

type energyFlags struct {
	out, pcap, tls    string
	quick             bool
	port              uint16
	captures          int
	batteryMAh, volts float64
}

func newEnergyCmd() *cobra.Command {
	var f energyFlags
	cmd := &cobra.Command{
		Use:   "energy [--quick] --out DIR | energy --pcap FILE --port N",
		Short: "Reproduce the MQTT vs HTTPS battery tables with a PowerTutor model",
		Long: `Reproduce the connect and maintain battery tables of Nicholas 2012 ("Power
Profiling: HTTPS Long Polling vs. MQTT with SSL, on Android"), which the seed
slides quote, and print them next to the published values with the ratio
per cell.

It captures, on loopback (needs root or CAP_NET_RAW), an MQTT connect
(TCP + TLS + CONNECT + SUBSCRIBE) and keepalive (PINGREQ/PINGRESP) against the
reference broker, and an HTTPS long-poll connect and reconnect against a
Comet endpoint, over TLS configured like the study (--tls study: TLS 1.0,
RSA-1024 certificates, mutual authentication). Each exchange is re-timed on a
3G and a WiFi link model (round trip, bandwidth, FACH→DCH promotion; sources
in fixtures/energy/powertutor.json) and fed to a PowerTutor-compatible
model: PowerTutor's power levels, its 3G and WiFi state machines and its
per-app polling (an idle app's counters are read every 10 s). The slides'
derived figures (battery per day saved, break-even connection lifetime)
are computed from the cells, and the 3G events are checked against the
study's own per-second trace.

Outputs in --out DIR:
  energy.json          list of cells: table (connect/maintain), radio (3g/wifi),
                       protocol (https/mqtt), keepalive_s (maintain), model,
                       value (% battery, or %/hour for maintain), published,
                       ratio (value/published), plus event_joules,
                       split_fraction, span_s, captures, timing, link, tls
  energy.csv           the same cells as CSV
  energy.md            the tables, derived figures, trace check, and how the
                       model works and where it stops (citable)
  energy_maintain.png/.svg  model vs published per keepalive, log scales
  energy_physical.png/.svg  the physical 3G (ARO), LTE and WiFi models per
                       keepalive (cells with model physical-<radio> in the
                       JSON/CSV): physically plausible, compare shapes

--quick captures each event once; the default captures 5 times and uses the
median event. --pcap FILE --port N applies the model to the TCP traffic on
port N of any pcap/pcapng file at its own timing instead (nothing is
captured; no privileges needed).`,
		Example: `  sudo wirecheck energy --quick --out /tmp/energy
  wirecheck energy --tls tls1.2 --out energy-tls12
  wirecheck energy --pcap session.pcapng --port 8883`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := energy.Default()
			if err != nil {
				return err
			}
			if err := f.apply(cmd, c); err != nil {
				return usageError{err}
			}
			if f.pcap != "" {
				return energyPcap(cmd.OutOrStdout(), c, f.pcap, f.port)
			}
			return energyTables(cmd, c, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "o", "", "output directory (created; required unless --pcap)")
	fl.BoolVar(&f.quick, "quick", false, "capture each event once instead of 5 times")
	fl.IntVar(&f.captures, "captures", 0, "captures of each event; the median is used (default 5, 1 with --quick)")
	fl.StringVar(&f.tls, "tls", energy.ProfileStudy, "TLS profile: "+strings.Join(energy.Profiles, " or ")+" (study = TLS 1.0, RSA-1024, mutual auth)")
	fl.StringVar(&f.pcap, "pcap", "", "apply the model to this pcap/pcapng file instead of capturing")
	fl.Uint16Var(&f.port, "port", 0, "server TCP port of the traffic in --pcap")
	fl.Float64Var(&f.batteryMAh, "battery-mah", 1400, "battery capacity in mAh (the study's HTC Desire: 1400)")
	fl.Float64Var(&f.volts, "battery-volts", 3.7, "battery voltage")
	return cmd
}

func anyChanged(cmd *cobra.Command, names ...string) bool {
	for _, n := range names {
		if cmd.Flags().Changed(n) {
			return true
		}
	}
	return false
}

// apply checks the flags and sets the battery.
func (f *energyFlags) apply(cmd *cobra.Command, c *energy.Constants) error {
	switch {
	case f.pcap != "" && f.port == 0:
		return errors.New("--pcap needs --port, the server's TCP port in the capture")
	case f.pcap == "" && cmd.Flags().Changed("port"):
		return errors.New("--port is only for --pcap")
	case f.pcap != "" && anyChanged(cmd, "out", "tls", "quick", "captures"):
		return errors.New("--pcap reads a capture and prints its energy: --out, --tls, --quick and --captures are for the captured tables")
	case f.pcap == "" && f.out == "":
		return errors.New("--out DIR is required (where energy.json, .csv, .md and the plots go)")
	case !slices.Contains(energy.Profiles, f.tls):
		return fmt.Errorf("--tls %q: want one of %s", f.tls, strings.Join(energy.Profiles, ", "))
	case f.captures < 0 || f.captures > 50:
		return fmt.Errorf("--captures %d: want 1 to 50", f.captures)
	case f.batteryMAh <= 0 || f.volts <= 0:
		return errors.New("--battery-mah and --battery-volts must be positive")
	}
	if f.captures == 0 {
		f.captures = 5
		if f.quick {
			f.captures = 1
		}
	}
	c.Battery.MAh, c.Battery.Volts = f.batteryMAh, f.volts
	c.Battery.Joules = f.batteryMAh / 1000 * 3600 * f.volts
	return nil
}

func energyPcap(w io.Writer, c *energy.Constants, path string, port uint16) error {
	pk, err := energy.ReadPcap(path, port)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: %d TCP packets on port %d over %.1f s, at their captured timing (not re-timed), as if after a long idle\n",
		path, len(pk), port, pk[len(pk)-1].T)
	for _, r := range energy.Radios {
		ev := c.FileEnergy(r, pk)
		fmt.Fprintf(w, "%-4s powertutor: %.3f J = %.5f %% of a %g J battery (%.0f %% of poll phases split the traffic)\n",
			r, ev.Joules, c.Percent(ev.Joules), c.Battery.Joules, ev.Split*100)
	}
	return nil
}

func energyTables(cmd *cobra.Command, c *energy.Constants, f energyFlags) error {
	w, log := cmd.OutOrStdout(), cmd.ErrOrStderr()
	var caps []*energy.Events
	for i := range f.captures {
		fmt.Fprintf(log, "capturing events %d/%d (%s)\n", i+1, f.captures, energy.ProfileDescription(f.tls))
		ev, err := energy.CaptureEvents(f.tls)
		if err != nil {
			return err
		}
		caps = append(caps, ev)
	}
	cells, err := c.Table(caps)
	if err != nil {
		return err
	}
	phys, err := c.PhysicalTable(caps)
	if err != nil {
		return err
	}
	files, err := c.WriteAll(f.out, append(cells, phys...), caps)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "PowerTutor model, every event re-timed on the link models:\n  3G:   %s\n  WiFi: %s\n",
		c.Links[energy.Radio3G], c.Links[energy.RadioWiFi])
	fmt.Fprintf(w, "%-8s %-4s %-5s %4s %10s %10s %6s\n", "table", "radio", "proto", "ka s", "model", "published", "ratio")
	for _, x := range cells {
		ka := "-"
		if x.KeepaliveS != nil {
			ka = fmt.Sprint(*x.KeepaliveS)
		}
		fmt.Fprintf(w, "%-8s %-4s %-5s %4s %10.5f %10.5f %6.2f\n", x.Table, x.Radio, x.Protocol, ka, x.Value, x.Published, x.Ratio)
	}
	d := energy.Derive(cells)
	fmt.Fprintf(w, "saved per day (3G, 240 s): %.2f %% (published %.2f %%); break-even: %.0f s (published %.0f s)\n",
		d.SavedPerDay, d.SavedPerDayPublished, d.BreakEvenS, d.BreakEvenSPublished)
	if !c.StudyBattery() {
		fmt.Fprintf(w, "battery %g J: the published values, %% of the study's battery, are rescaled to it\n", c.Battery.Joules)
	}
	fmt.Fprintf(w, "wrote %s\n", strings.Join(files, ", "))
	return nil
}
