//! Event-time windows and the watermark. Windows are `[start, end)`,
//! aligned to the epoch like Spark's `window()`. Events are added to *panes*
//! (slices of gcd(size, slide)); each pane belongs to `size / pane` windows,
//! so a sliding window costs one update per event however many windows
//! overlap, and the pane-to-window fan-out happens once per pane per commit.

use crate::event_time::Millis;

/// Maps event times to panes and panes to the windows containing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowAssigner {
    size: Millis,
    slide: Millis,
    pane: Millis,
}

impl WindowAssigner {
    /// `size` and `slide` in milliseconds, `0 < slide <= size` (checked by
    /// config validation).
    pub fn new(size: Millis, slide: Millis) -> Self {
        assert!(
            size > 0 && slide > 0 && slide <= size,
            "invalid window {size}/{slide}"
        );
        Self {
            size,
            slide,
            pane: gcd(size, slide),
        }
    }

    pub fn size(&self) -> Millis {
        self.size
    }

    /// Start of the pane holding `t`.
    pub fn pane_of(&self, t: Millis) -> Millis {
        t - t.rem_euclid(self.pane)
    }

    /// Starts of the windows containing the pane starting at `pane_start`,
    /// latest first.
    pub fn windows_of_pane(&self, pane_start: Millis) -> impl Iterator<Item = Millis> {
        let last = pane_start - pane_start.rem_euclid(self.slide);
        let size = self.size;
        let slide = self.slide;
        (0..)
            .map(move |k| last - k * slide)
            .take_while(move |start| pane_start < start + size)
    }

    /// Starts of the windows containing `t` (the same windows as its pane).
    #[cfg(test)]
    pub fn windows_of(&self, t: Millis) -> impl Iterator<Item = Millis> {
        self.windows_of_pane(self.pane_of(t))
    }
}

fn gcd(mut a: Millis, mut b: Millis) -> Millis {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Per-partition watermark: the latest event time seen minus the allowed
/// lateness. An event older than the watermark is late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermark {
    max_event_time: Option<Millis>,
    lateness: Millis,
}

impl Watermark {
    pub fn new(lateness: Millis, max_event_time: Option<Millis>) -> Self {
        Self {
            max_event_time,
            lateness,
        }
    }

    /// The current watermark, `None` before the first event.
    pub fn get(&self) -> Option<Millis> {
        self.max_event_time.map(|m| m - self.lateness)
    }

    pub fn max_event_time(&self) -> Option<Millis> {
        self.max_event_time
    }

    /// Account for an event at `t`: true if it is on time (and advances the
    /// watermark), false if it is late. An event exactly at the watermark is
    /// on time.
    pub fn observe(&mut self, t: Millis) -> bool {
        match self.max_event_time {
            Some(max) if t < max - self.lateness => false,
            Some(max) if t <= max => true,
            _ => {
                self.max_event_time = Some(t);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows(a: &WindowAssigner, t: Millis) -> Vec<(Millis, Millis)> {
        let mut w: Vec<_> = a.windows_of(t).map(|s| (s, s + a.size())).collect();
        w.sort();
        w
    }

    #[test]
    fn sliding_window_assigns_size_over_slide_windows() {
        let a = WindowAssigner::new(30_000, 15_000);
        assert_eq!(windows(&a, 20_000), [(0, 30_000), (15_000, 45_000)]);
        assert_eq!(windows(&a, 15_000), [(0, 30_000), (15_000, 45_000)]);
        assert_eq!(windows(&a, 14_999), [(-15_000, 15_000), (0, 30_000)]);
    }

    #[test]
    fn event_exactly_at_window_end_belongs_to_the_next_window() {
        let a = WindowAssigner::new(30_000, 30_000);
        assert_eq!(windows(&a, 29_999), [(0, 30_000)]);
        assert_eq!(windows(&a, 30_000), [(30_000, 60_000)]);
    }

    #[test]
    fn slide_not_dividing_size_uses_gcd_panes() {
        let a = WindowAssigner::new(10_000, 4_000);
        // pane = 2 s; windows start at multiples of 4 s and last 10 s.
        assert_eq!(a.pane_of(9_999), 8_000);
        assert_eq!(
            windows(&a, 9_000),
            [(0, 10_000), (4_000, 14_000), (8_000, 18_000)]
        );
        assert_eq!(windows(&a, 11_000), [(4_000, 14_000), (8_000, 18_000)]);
        // every window containing the pane contains all of it
        for t in (0..40_000).step_by(500) {
            let brute: Vec<_> = (-20..20)
                .map(|k| k * 4_000)
                .filter(|s| *s <= t && t < s + 10_000)
                .map(|s| (s, s + 10_000))
                .collect();
            assert_eq!(windows(&a, t), brute, "t={t}");
        }
    }

    #[test]
    fn large_size_over_slide_still_one_pane_per_event() {
        let a = WindowAssigner::new(3_600_000, 60_000);
        assert_eq!(a.pane_of(61_234), 60_000);
        assert_eq!(a.windows_of(61_234).count(), 60);
    }

    #[test]
    fn watermark_boundaries() {
        let mut w = Watermark::new(30_000, None);
        assert_eq!(w.get(), None);
        assert!(w.observe(100_000));
        assert_eq!(w.get(), Some(70_000));
        // out of order within lateness: on time, watermark unchanged
        assert!(w.observe(80_000));
        assert_eq!(w.get(), Some(70_000));
        // exactly at the watermark: on time
        assert!(w.observe(70_000));
        // one millisecond older than the watermark: late
        assert!(!w.observe(69_999));
        assert!(w.observe(130_000));
        assert_eq!(w.get(), Some(100_000));
        // late beyond lateness
        assert!(!w.observe(90_000));
        assert_eq!(w.max_event_time(), Some(130_000));
    }
}
