package device

// Counter is the seq counter of protocol v1 as firmware keeps it: the next value in
// RAM, and in flash a reservation that every value handed out stays below. The
// reservation is written only every SaveEvery values, to spare the flash; after a
// reboot the counter continues from the reservation, so seq leaves a gap but never
// goes back.
type Counter struct {
	ram, flash, every uint64
	writes            int
}

// NewCounter returns a counter whose first value is first, saving its reservation
// every saveEvery values (at least 1).
func NewCounter(first, saveEvery uint64) *Counter {
	return &Counter{ram: first, flash: first, every: max(saveEvery, 1)}
}

// Next hands out the next seq, writing a new reservation to flash when the old one
// is used up.
func (c *Counter) Next() uint64 {
	s := c.ram
	if s >= c.flash {
		c.flash = s + c.every
		c.writes++
	}
	c.ram++
	return s
}

// Peek is the value Next would hand out.
func (c *Counter) Peek() uint64 { return c.ram }

// Reboot loses the RAM copy: the counter continues from the flash reservation.
func (c *Counter) Reboot() { c.ram = c.flash }

// FlashWrites is how many times the reservation was written.
func (c *Counter) FlashWrites() int { return c.writes }
