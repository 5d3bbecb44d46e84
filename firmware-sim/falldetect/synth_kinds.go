package falldetect

// genWalk walks for the whole trace.
func genWalk(b *builder) {
	b.walk(traceSec)
}

// genSitFast stands, drops onto a chair (short free fall, up to a ~3.4 g
// spike) and sits leaning back: the hard activity for the detector.
func genSitFast(b *builder) {
	b.hold(upright, b.uniform(1.2, 1.8))
	seat := tilt(b.uniform(10, 55), supine)
	b.drop(upright, seat, b.uniform(0.35, 0.6), b.uniform(0.12, 0.25))
	b.impact(seat, b.uniform(2.4, 3.6))
	b.fill(seat)
}

// genLieBed sits, then lies back onto a bed slowly.
func genLieBed(b *builder) {
	sit := tilt(b.uniform(5, 20), supine)
	b.hold(sit, b.uniform(1, 1.5))
	b.move(sit, supine, b.uniform(1.2, 2), b.uniform(0.15, 0.35))
	b.fill(supine)
}

// genJump stands, crouches, flies (true free fall) and lands upright.
func genJump(b *builder) {
	b.hold(upright, b.uniform(1, 1.5))
	b.move(upright, upright, 0.3, -0.3)
	b.move(upright, upright, 0.2, 0.8)
	b.drop(upright, upright, b.uniform(0.05, 0.2), b.uniform(0.2, 0.35))
	b.impact(upright, b.uniform(3.5, 5.5))
	b.fill(upright)
}

// genStumble walks, trips (brief dip and a spike) and walks on.
func genStumble(b *builder) {
	b.walk(b.uniform(1.5, 2))
	lean := tilt(b.uniform(10, 30), prone)
	b.drop(upright, lean, b.uniform(0.4, 0.6), b.uniform(0.08, 0.2))
	b.impact(upright, b.uniform(2, 3.2))
	b.walk(traceSec)
	b.out = b.out[:n(traceSec)]
}

// genPickFloor stands, bends to the floor, pauses and straightens up.
func genPickFloor(b *builder) {
	b.hold(upright, b.uniform(0.8, 1.2))
	bent := tilt(b.uniform(60, 90), prone)
	b.move(upright, bent, b.uniform(0.8, 1.2), -0.15)
	b.hold(bent, b.uniform(0.5, 1))
	b.move(bent, upright, b.uniform(0.8, 1.2), 0.2)
	b.fill(upright)
}

// genFallDir returns a generator of a fall from walking that ends lying with
// gravity along end, as SisFall's falls look: a stumble and a short slump (a
// dip to 0.55-0.9 g, under 0.6 g for less than 100 ms if at all, over
// 0.2-0.3 s while the trunk turns), the
// impact (2.5-6 g), and lying (nearly) still.
func genFallDir(end [3]float64) func(b *builder) {
	return func(b *builder) {
		b.walk(b.uniform(1.3, 1.8))
		b.slump(upright, end, b.uniform(0.55, 0.9), b.uniform(0.2, 0.3))
		b.impact(end, b.uniform(2.5, 6))
		b.lie(end)
	}
}

// genFallFromBed lies on a bed, rolls off (short slump) and lands on the floor.
func genFallFromBed(b *builder) {
	b.hold(supine, b.uniform(1.2, 1.8))
	floor := add(leftUp, scale(prone, b.uniform(0, 1)))
	b.slump(supine, floor, b.uniform(0.55, 0.9), b.uniform(0.2, 0.3))
	b.impact(floor, b.uniform(2.5, 5))
	b.lie(floor)
}

// genFallRecovery falls forward, struggles to get up for a while and stays down.
func genFallRecovery(b *builder) {
	b.walk(b.uniform(1.2, 1.6))
	b.slump(upright, prone, b.uniform(0.55, 0.9), b.uniform(0.2, 0.3))
	b.impact(prone, b.uniform(2.5, 6))
	knees := tilt(b.uniform(30, 50), prone)
	b.move(prone, knees, b.uniform(0.4, 0.6), 0.3)
	b.move(knees, prone, b.uniform(0.3, 0.5), 0.4)
	b.lie(prone)
}

// genFallSlow walks and sinks down slowly (no free fall, soft impact): the
// hard fall for the detector.
func genFallSlow(b *builder) {
	b.walk(b.uniform(1.3, 1.8))
	end := add(supine, scale(leftUp, b.uniform(0, 0.8)))
	b.move(upright, tilt(30, supine), 0.6, -0.1)
	b.slump(tilt(30, supine), end, b.uniform(0.75, 0.95), b.uniform(0.4, 0.7))
	b.impact(end, b.uniform(1.6, 3))
	b.lie(end)
}
