package bench

import "time"

// Flow control of a publisher: in closed loop it may have only so many
// deliveries outstanding (its window, and a token of the shared pool in
// fan-in), and at any QoS > 0 only maxUnacked flows incomplete. Subscribers
// and the reader goroutine wake it when room frees up.

// wake lets a waiting publisher re-check its room.
func (p *publisher) wake() {
	if p.waiting.Load() {
		select {
		case p.signal <- struct{}{}:
		default:
		}
	}
}

// delivered is called by a subscriber for each message of this publisher.
func (p *publisher) delivered() {
	if p.outstanding.Add(-1) <= p.low {
		p.wake()
	}
	if p.tokens != nil {
		select {
		case p.tokens <- struct{}{}:
		default: // a token given up as lost came back after all
		}
	}
}

// arm (re)starts the publisher's one timer for d and returns its channel.
func (p *publisher) arm(d time.Duration) <-chan time.Time {
	if p.timer == nil {
		p.timer = time.NewTimer(d)
	} else {
		p.timer.Reset(d)
	}
	return p.timer.C
}

// sleep waits d, or until wake (if not nil) has a value; false when the
// round's context ends first.
func (p *publisher) sleep(d time.Duration, wake <-chan struct{}) bool {
	select {
	case <-p.arm(d):
	case <-wake:
	case <-p.done:
		return false
	}
	return true
}

// waitRoom blocks until the publisher may send: closed loop within its
// window and with a token from the shared pool, any loop within maxUnacked.
// It returns false when stopAt passes or the round's context ends.
func (p *publisher) waitRoom(closed bool, stopAt int64) bool {
	if !p.waitOwn(closed, stopAt) {
		return false
	}
	if !closed || p.tokens == nil {
		return true
	}
	select {
	case <-p.tokens:
		return true
	default:
	}
	if err := p.c.flush(); err != nil {
		p.err = err
		return false
	}
	wait := min(time.Duration(stopAt-now()), stallTimeout)
	if wait <= 0 {
		return false
	}
	select {
	case <-p.tokens:
		return true
	case <-p.done:
		return false
	case <-p.arm(wait):
		// Stop, or nothing came back for a second: that token's message is
		// lost (the count shows it); go on without it.
		return now() < stopAt
	}
}

// waitOwn is waitRoom without the shared pool: the publisher's own window
// and its incomplete QoS 1/2 flows.
func (p *publisher) waitOwn(closed bool, stopAt int64) bool {
	if !((closed && p.outstanding.Load() > p.thr) || (p.qos > 0 && p.unacked.Load() >= maxUnacked)) {
		return true
	}
	// Once the window is full, wait until half of it is free: the
	// publisher then sends a burst in one write instead of one message per
	// delivery, which would cost broker and load generator a syscall each.
	blocked := func() bool {
		return (closed && p.outstanding.Load() > p.low) || (p.qos > 0 && p.unacked.Load() >= maxUnacked/2)
	}
	if err := p.c.flush(); err != nil {
		p.err = err
		return false
	}
	last, since := p.outstanding.Load(), now()
	for {
		p.waiting.Store(true)
		if !blocked() { // re-check after announcing: a wake-up cannot be missed
			p.waiting.Store(false)
			return true
		}
		wait := min(time.Duration(stopAt-now()), stallTimeout)
		if wait <= 0 {
			p.waiting.Store(false)
			return false
		}
		ok := p.sleep(wait, p.signal)
		p.waiting.Store(false)
		if !ok {
			return false
		}
		t := now()
		if o := p.outstanding.Load(); o != last {
			last, since = o, t
		} else if closed && time.Duration(t-since) >= stallTimeout && o > p.low {
			// Nothing arrived for a second: those deliveries are lost (the
			// count shows it); stop waiting for them.
			p.outstanding.Add(p.low - o)
			last, since = p.low, t
		}
		if t >= stopAt {
			return false
		}
	}
}
