package capture

import "time"

// Filter selects the packets an Account sums. A nil Filter keeps all.
type Filter func(Packet) bool

// Between keeps packets with from <= Time < to.
func Between(from, to time.Time) Filter {
	return func(p Packet) bool { return !p.Time.Before(from) && p.Time.Before(to) }
}

// ServerPort keeps packets of flows whose server port is port.
func ServerPort(port uint16) Filter {
	return func(p Packet) bool { return p.Server.Port() == port }
}

// Dir keeps packets going in direction d.
func Dir(d Direction) Filter {
	return func(p Packet) bool { return p.Dir == d }
}

// And keeps packets that pass every filter (nil filters pass all).
func And(fs ...Filter) Filter {
	return func(p Packet) bool {
		for _, f := range fs {
			if f != nil && !f(p) {
				return false
			}
		}
		return true
	}
}
