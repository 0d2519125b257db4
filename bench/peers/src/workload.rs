//! The workloads: what each message's key, value and headers are.
//!
//! Message `i` of a workload depends only on `i` and on the draws before it from one SplitMix64
//! generator seeded with [`SEED`], so the same command fills the same topic every time.
//!
//! - `events`: the demo's event (`truthound demo-fill`'s shape, about 200-230 bytes): `event_id`,
//!   `user_id` (null in 1% of the events), `action`, `timestamp`, `amount` (null unless a
//!   purchase), `country`, `device: {os, version}`, `tags: [...]`; keyed by the event id, with
//!   one header.
//! - `small`: about 40 bytes: `{"id":int,"value":float,"flag":bool}`, keyed by the id.
//! - `wide`: 60 fields `f00`..`f59`, in turn an int, a float, a string and a bool (about 900
//!   bytes), keyed by the row number.

use std::fmt::Write as _;

/// The generator's seed.
pub(crate) const SEED: u64 = 42;

/// Which messages to produce.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Workload {
    Events,
    Small,
    Wide,
}

impl Workload {
    pub(crate) fn parse(name: &str) -> crate::Result<Self> {
        match name {
            "events" => Ok(Self::Events),
            "small" => Ok(Self::Small),
            "wide" => Ok(Self::Wide),
            other => Err(format!("unknown workload {other:?}: events, small or wide").into()),
        }
    }
}

/// One message: its key and value (the value's buffer is reused from message to message).
pub(crate) struct Generator {
    workload: Workload,
    rng: Rng,
    pub(crate) key: String,
    pub(crate) value: String,
}

impl Generator {
    pub(crate) fn new(workload: Workload) -> Self {
        Self {
            workload,
            rng: Rng(SEED),
            key: String::new(),
            value: String::new(),
        }
    }

    /// The header every message of the workload carries, if any.
    pub(crate) fn header(&self) -> Option<(&'static str, &'static [u8])> {
        match self.workload {
            Workload::Events => Some(("source", b"truthound-bench-peers")),
            Workload::Small | Workload::Wide => None,
        }
    }

    /// Fills `key` and `value` with message `i`.
    pub(crate) fn message(&mut self, i: usize) {
        self.key.clear();
        self.value.clear();
        match self.workload {
            Workload::Events => self.event(i),
            Workload::Small => self.small(i),
            Workload::Wide => self.wide(i),
        }
    }

    fn event(&mut self, i: usize) {
        const ACTIONS: &[&str] = &["login", "logout", "view", "add_to_cart", "purchase"];
        const COUNTRIES: &[&str] = &["US", "DE", "FR", "JP", "BR", "IN", "GB", "KR"];
        const OS: &[&str] = &["ios", "android", "web"];
        const TAGS: &[&str] = &["new", "returning", "promo", "mobile", "beta"];
        // 2026-11-01T00:00:00Z, then about one event every 3 seconds (as the demo's events).
        let start = 1_793_491_200_u64;
        let rng = &mut self.rng;
        let millis = rng.below(1000);
        let action = rng.pick(ACTIONS);
        let amount = (action == "purchase").then(|| (rng.below(500_000) + 100) as f64 / 100.0);
        let os = rng.pick(OS);
        let tags: Vec<&str> = (0..rng.below(3)).map(|_| rng.pick(TAGS)).collect();
        let user = rng.below(5000);
        let country = rng.pick(COUNTRIES);
        let (major, minor) = (rng.below(5) + 10, rng.below(10));

        let _ = write!(self.key, "e{i:07}");
        let v = &mut self.value;
        let _ = write!(v, r#"{{"event_id":"{}","user_id":"#, self.key);
        if i % 100 == 7 {
            v.push_str("null");
        } else {
            let _ = write!(v, r#""u{user:05}""#);
        }
        let _ = write!(v, r#","action":"{action}","timestamp":""#);
        push_timestamp(v, start + 3 * i as u64, millis);
        v.push_str(r#"","amount":"#);
        match amount {
            // Two decimals always, so that every amount reads as a float.
            Some(amount) => {
                let _ = write!(v, "{amount:.2}");
            }
            None => v.push_str("null"),
        }
        let _ = write!(
            v,
            r#","country":"{country}","device":{{"os":"{os}","version":"{major}.{minor}"}},"tags":["#
        );
        for (n, tag) in tags.iter().enumerate() {
            if n > 0 {
                v.push(',');
            }
            let _ = write!(v, r#""{tag}""#);
        }
        v.push_str("]}");
    }

    fn small(&mut self, i: usize) {
        let value = self.rng.below(1_000_000) as f64 / 10_000.0;
        let flag = self.rng.below(2) == 1;
        let _ = write!(self.key, "{i}");
        let _ = write!(
            self.value,
            r#"{{"id":{i},"value":{value:.4},"flag":{flag}}}"#
        );
    }

    fn wide(&mut self, i: usize) {
        const WORDS: &[&str] = &["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"];
        let _ = write!(self.key, "{i}");
        let v = &mut self.value;
        v.push('{');
        for field in 0..60 {
            if field > 0 {
                v.push(',');
            }
            let _ = write!(v, r#""f{field:02}":"#);
            let rng = &mut self.rng;
            match field % 4 {
                0 => {
                    let _ = write!(v, "{}", rng.below(10_000_000));
                }
                1 => {
                    let _ = write!(v, "{:.3}", rng.below(100_000_000) as f64 / 1000.0);
                }
                2 => {
                    let _ = write!(v, r#""{}-{}""#, rng.pick(WORDS), rng.below(1000));
                }
                _ => {
                    let _ = write!(v, "{}", rng.below(2) == 1);
                }
            }
        }
        v.push('}');
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for `secs` since the Unix epoch (UTC) and `millis`.
fn push_timestamp(out: &mut String, secs: u64, millis: u64) {
    let (days, day_secs) = (secs / 86_400, secs % 86_400);
    // Days to a civil date (Howard Hinnant's `civil_from_days`, for dates after 1970).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        day_secs / 3600,
        (day_secs % 3600) / 60,
        day_secs % 60
    );
}

/// SplitMix64: a small, seeded, deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_civil_dates() {
        let mut out = String::new();
        push_timestamp(&mut out, 1_793_491_200, 5);
        assert_eq!(out, "2026-11-01T00:00:00.005Z");
        out.clear();
        push_timestamp(&mut out, 951_782_400 + 86_399, 999); // 2000-02-29 23:59:59
        assert_eq!(out, "2000-02-29T23:59:59.999Z");
    }

    #[test]
    fn messages_have_their_sizes() {
        for (workload, low, high) in [
            (Workload::Events, 150, 260),
            (Workload::Small, 30, 50),
            (Workload::Wide, 600, 1100),
        ] {
            let mut generator = Generator::new(workload);
            let mut total = 0;
            for i in 0..1000 {
                generator.message(i);
                total += generator.value.len();
            }
            let mean = total / 1000;
            assert!((low..=high).contains(&mean), "{workload:?}: {mean} bytes");
        }
    }
}
