//! Analytical cycle model of the generated design, from the golden model's
//! per-query results (kept keys, hits, fetches).
//!
//! It follows the RTL's sequencing with no idle cycles on the inputs and no
//! back-pressure on the outputs, as two resources that overlap: the
//! controller (which fetches and hands keys over) and the engine (which
//! computes). Times are clock cycles from the start of the query.
//!
//! - The query is taken at cycle [`QUERY_TAKE`]: the controller's ready is
//!   a register, set the cycle after it may take a query. The controller
//!   then scans its kept
//!   keys ([`scan_done`]): without pruning a counter emits one key per
//!   cycle; with pruning the keep vector arrives in `xbar_beats` beats of
//!   `cols` keys after the crossbar's latency, each beat passes
//!   [`BEAT_STAGES`] registers, and takes max(1, its kept keys) cycles in
//!   the priority encoder. Each key is
//!   looked up in the buffer's key→slot table and written to the hit or
//!   miss list; the scan ends [`SCAN_DRAIN`] cycles after the last
//!   emission.
//! - The hit pass reads the hits back from the list RAM: the first is
//!   offered [`LIST_READ_LATENCY`] cycle after the pass starts, each
//!   further one a cycle after its hand-over. A key is handed over into
//!   the engine's one-entry hold when the hold is empty (from the cycle
//!   after the engine started the held key's S pass), and the engine sees
//!   it the cycle after ([`HOLD_LATENCY`]).
//! - The engine ([`EngineTimeline`]) runs each key through an S pass (C
//!   reads of its K row, C = chunks), 9 weight cycles, then an A pass (C
//!   reads of its V row). Passes share the read port; S of key i+1 runs
//!   while key i's weight is computed, so in steady state a key costs 2·C
//!   cycles (the MAC bound) when C >= 7, and a query of n keys taken back
//!   to back costs `2·n·C + 21` engine cycles (one less for two keys).
//!   Each read goes through a pipeline: a key's score is complete
//!   [`SCORE_LATENCY`] cycles after its pass is decided plus C, an A pass's
//!   accumulators [`ACCUMULATE_LATENCY`] cycles after.
//! - The fetch pass starts the cycle after the last hit's hand-over (the
//!   cycle after the hit pass's first without hits). Its first request
//!   comes when its list entry is read, [`LIST_READ_LATENCY`] cycle after
//!   the pass's start (the hits' slots were consumed as the scan listed
//!   them, so the buffer's victim is ready by then); the others
//!   every [`REQUEST_INTERVAL`] cycles, up to `fetch_depth` in flight (a
//!   request waits for a free queue entry, which the hand-over of the row
//!   `fetch_depth` requests earlier frees).
//!   The port carries `bytes_per_cycle` bytes a beat and the memory one
//!   beat a cycle, so a key's K and V rows take `B = mem_beats_per_key`
//!   beats (ceil(row_bytes / bytes_per_cycle) a row). A row is offered
//!   `mem_latency + B` cycles after its request (its last beat is written
//!   to the buffer the cycle before) and no sooner than `B` cycles after
//!   the previous row: the memory port streams. Victim waits (a small
//!   buffer whose victim the engine still reads) are not modelled.
//! - The controller finishes 2 cycles after the last miss's hand-over (or
//!   1 after the fetch pass's start without misses); normalisation and output
//!   take [`post_cycles`] after that cycle's predecessor or the engine's
//!   drain, whichever is later: `lz_bits + recip_bits + chunks + 12` (a
//!   leading-zero search of one cycle per halving, the reciprocal's one bit
//!   per cycle, an 8-stage output pipeline).
//!
//! With several cores ([`RunTiming`]) each core runs its own queries
//! ([`super::dispatch`]) back to back, every query costing what it costs
//! alone, and the cores share two ports: the memory port is busy
//! [`fetch_interval`] cycles per fetched row, the crossbar port
//! [`crossbar_occupancy`] cycles per request. A run takes the longest of
//! the busiest core and the two ports' total busy time. This is a bound,
//! not a cycle-exact account of the arbitration: a core that waits for a
//! port also idles its engine, and the in-order output of the rows is not
//! modelled. With one core the ports are not shared and each query's own
//! cycles already hold its port time: a run costs the sum of its queries.
//!
//! `sprint-rtl verify` prints the model's error against the RTL per run.

use serde::{Deserialize, Serialize};

use super::{Derived, Mode, QueryResult};

/// Cycle of a query's take, counted from the end of the previous query (or
/// the start): the controller's registered ready rises the cycle after it
/// may take a query.
pub const QUERY_TAKE: u64 = 2;

/// Cycles from a key's hand-over to the engine's hold until the engine may
/// start its S pass: the hold is a register.
pub const HOLD_LATENCY: u64 = 1;

/// Cycles from an S pass's decision to its key's complete score, beyond
/// the pass's C issue cycles: read, D, E, M, QK, T and score register
/// (templates/engine.v.hbs).
pub const SCORE_LATENCY: u64 = 7;

/// Cycles from an A pass's decision to its last accumulator update being
/// visible, beyond the pass's C issue cycles: read, D, E, M, accumulator.
pub const ACCUMULATE_LATENCY: u64 = 5;

/// Cycles from W taking a score to R holding its weight: W_SCALE, W_CEIL, W_MAX,
/// W_SHIFT, W_EXP, W_EXP2, W_EXP3, W_WEIGHT, then W_HOLD.
pub const WEIGHT_LATENCY: u64 = 9;

/// Engine cycles of one key in steady state: the larger of the read port's
/// 2 × chunks (the MAC bound), the S stage's C + [`SCORE_LATENCY`] (one key
/// scores while W holds the previous one) and the weight loop (W takes the
/// next score the cycle after R's A pass starts).
pub fn engine_key_cycles(d: &Derived) -> u64 {
    let chunks = u64::from(d.chunks);
    (2 * chunks)
        .max(chunks + SCORE_LATENCY)
        .max(WEIGHT_LATENCY + 1)
}

/// Cycles from a fetch request to the row's hand-over to the engine, when
/// the memory port is otherwise idle: the memory's latency to the first
/// beat, one beat a cycle after it, and the hand-over the cycle after the
/// last: `mem_latency + mem_beats_per_key`.
pub fn fetch_latency(d: &Derived) -> u64 {
    u64::from(d.mem_latency) + u64::from(d.mem_beats_per_key)
}

/// Cycles between rows when the memory port streams: a key's
/// `mem_beats_per_key` beats (`bytes_per_cycle` bytes each), one a cycle.
pub fn fetch_interval(d: &Derived) -> u64 {
    u64::from(d.mem_beats_per_key)
}

/// The engine's pipeline (templates/engine.v.hbs) at pass granularity.
///
/// A pass decided at cycle t issues reads at t+1 ..= t+C and the next pass
/// may be decided at t+C. An S key's score is complete at
/// t+C+[`SCORE_LATENCY`]; W takes it as soon as W is free (W frees the
/// cycle after the previous key's A pass starts), and its result is in R
/// [`WEIGHT_LATENCY`] cycles after the take. After an S pass an A pass is
/// preferred, after an A pass an S pass.
#[derive(Debug, Clone)]
pub struct EngineTimeline {
    chunks: u64,
    /// Earliest cycle the next pass may be decided.
    port_free: u64,
    /// The latest pass was an A pass (true before the first pass).
    last_a: bool,
    /// Cycle the S stage's key has its full score, if a key is there.
    s_done: Option<u64>,
    /// Cycle W took the latest S key's score (the S stage is free from then).
    s_taken: u64,
    /// Cycle W can take a score; `None` while W or R holds a key.
    w_free: Option<u64>,
    /// Cycle the result register R holds a key waiting for its A pass.
    r_ready: Option<u64>,
    /// Cycle the engine is idle after the latest A pass.
    drained: u64,
}

impl EngineTimeline {
    /// An empty engine at cycle `now` with `chunks` reads per pass.
    pub fn new(chunks: u64, now: u64) -> EngineTimeline {
        EngineTimeline {
            chunks,
            port_free: now,
            last_a: true,
            s_done: None,
            s_taken: now,
            w_free: Some(now),
            r_ready: None,
            drained: now,
        }
    }

    /// Cycle the S stage is free: at once when empty, else when W takes its
    /// score (unknown while R waits for its A pass).
    fn s_free(&self) -> Option<u64> {
        match (self.s_done, self.w_free) {
            (None, _) => Some(self.s_taken),
            (Some(done), Some(free)) => Some(done.max(free)),
            (Some(_), None) => None,
        }
    }

    /// Moves the S key into W if W can take it.
    fn settle(&mut self) {
        if let (Some(take), Some(_)) = (self.s_free(), self.s_done) {
            self.s_done = None;
            self.s_taken = take;
            self.w_free = None;
            self.r_ready = Some(take + WEIGHT_LATENCY);
        }
    }

    /// Starts the A pass of R's key at decision cycle `t`.
    fn start_a(&mut self, t: u64) {
        self.r_ready = None;
        self.w_free = Some(t + 1);
        self.port_free = t + self.chunks;
        self.last_a = true;
        self.drained = t + self.chunks + ACCUMULATE_LATENCY;
        self.settle();
    }

    /// A key offered (valid) from cycle `offer`: returns the cycle the
    /// engine takes it (decides its S pass).
    pub fn take(&mut self, offer: u64) -> u64 {
        loop {
            let ts = self.s_free().map(|f| f.max(offer).max(self.port_free));
            let ta = self.r_ready.map(|r| r.max(self.port_free));
            let a_first = match (ts, ta) {
                (Some(ts), Some(ta)) => ta < ts || (ta == ts && !self.last_a),
                (None, _) => true,
                (Some(_), None) => false,
            };
            if a_first {
                self.start_a(ta.expect("the S stage waits only on R"));
                continue;
            }
            let t = ts.expect("an S pass is possible");
            self.settle();
            self.port_free = t + self.chunks;
            self.last_a = false;
            self.s_done = Some(t + self.chunks + SCORE_LATENCY);
            self.settle();
            return t;
        }
    }

    /// Runs the remaining A passes: the cycle the engine is idle again.
    pub fn drain(&mut self) -> u64 {
        self.settle();
        while let Some(r) = self.r_ready {
            self.start_a(r.max(self.port_free));
        }
        self.drained
    }
}

/// Cycle of a query's first scan emission (the query is taken at cycle
/// [`QUERY_TAKE`]): without pruning the counter emits key 0 the cycle after
/// the take; with pruning the crossbar takes the request the cycle after
/// the take, presents its first beat `xbar_latency + 1` cycles later, the
/// beat waits a cycle in stage I ([`BEAT_STAGES`]) and is held in stage K
/// (and emits) from the cycle after.
pub fn scan_start(d: &Derived, mode: Mode) -> u64 {
    if mode.prune() {
        QUERY_TAKE + u64::from(d.xbar_latency) + 2 + BEAT_STAGES
    } else {
        QUERY_TAKE + 1
    }
}

/// Cycles from a keep beat's take to its first emission: the controller's
/// stage I, whose beat stage K takes when it emits its own last key (so
/// that the decision to take a beat comes from registers), then K.
pub const BEAT_STAGES: u64 = 2;

/// Cycles from the last key's emission to the scan's end: the key's stage
/// E (its base key and column registered), stage L (their sum), the
/// buffer's 3-cycle lookup (the table's read, its copy, the tag's check),
/// then the end is seen.
pub const SCAN_DRAIN: u64 = 6;

/// Cycles from the list read that starts a pass to its first entry being
/// offered (hits) or ready to request (misses): the list RAM's registered
/// read.
pub const LIST_READ_LATENCY: u64 = 1;

/// Cycles between requests: the buffer shows a new victim one cycle after
/// a fill, and the check that the engine no longer reads it is registered.
/// The next list entry, read the cycle after a request (its take is
/// registered before it reaches the list), is valid within the interval.
pub const REQUEST_INTERVAL: u64 = 3;

/// Kept keys per crossbar beat (`cols` keys each), from a query's kept set.
pub fn kept_per_beat(d: &Derived, kept: &[u32]) -> Vec<u64> {
    let mut per_beat = vec![0u64; d.xbar_beats as usize];
    for &j in kept {
        per_beat[(j / d.xbar_cols) as usize] += 1;
    }
    per_beat
}

/// The cycle the scan of `q` ends (its lists written): emissions start at
/// [`scan_start`]; with pruning each beat takes max(1, kept keys of the
/// beat) cycles, without pruning each kept key one cycle.
pub fn scan_done(d: &Derived, mode: Mode, q: &QueryResult) -> u64 {
    let start = scan_start(d, mode);
    let source_cycles: u64 = if mode.prune() {
        kept_per_beat(d, &q.kept).iter().map(|&k| k.max(1)).sum()
    } else {
        q.kept.len() as u64
    };
    let source_done = start + source_cycles;
    // The last key is emitted in the last cycle of the last beat holding
    // kept keys; later beats without kept keys take one cycle each.
    let last_emit = if mode.prune() {
        let per_beat = kept_per_beat(d, &q.kept);
        let trailing_empty = per_beat.iter().rev().take_while(|&&k| k == 0).count() as u64;
        source_done - 1 - trailing_empty
    } else {
        source_done - 1
    };
    if q.kept.is_empty() {
        source_done
    } else {
        source_done.max(last_emit + SCAN_DRAIN)
    }
}

/// Cycles of one query in `mode`.
pub fn query_cycles(d: &Derived, mode: Mode, q: &QueryResult) -> u64 {
    // The hit pass's first cycle.
    let hits_start = scan_done(d, mode, q) + 1;
    if q.kept.is_empty() {
        // The hit pass ends at once, the fetch pass a cycle later, and the
        // finish takes one cycle.
        return hits_start + 3;
    }
    let mut engine = EngineTimeline::new(u64::from(d.chunks), hits_start);
    // The engine's key hold: the cycle it is empty again after the latest
    // hand-over (the cycle after the engine starts that key's S pass).
    let mut hold_free = hits_start;
    let mut hand_over = |offer: u64| -> u64 {
        let handed = offer.max(hold_free);
        hold_free = engine.take(handed + HOLD_LATENCY) + 1;
        handed
    };
    let mut fetch_start = hits_start + 1;
    let mut offer = hits_start + LIST_READ_LATENCY;
    for _ in 0..q.hits {
        let handed = hand_over(offer);
        // The next entry is read as this one is handed over.
        offer = handed + LIST_READ_LATENCY;
        fetch_start = handed + 1;
    }
    // The first request waits for its list entry. The buffer's victim and
    // the registered check that it may be overwritten are ready by then:
    // the last consume took effect with the scan's last list write.
    let first_request = fetch_start + LIST_READ_LATENCY;
    let depth = d.fetch_depth as usize;
    let mut takes = Vec::with_capacity(q.fetches as usize);
    let mut request = first_request;
    let mut row: Option<u64> = None;
    // The cycle the controller moves to the finish (from the fetch pass).
    let mut finish = fetch_start + 1;
    for i in 0..q.fetches as usize {
        if i > 0 {
            request += REQUEST_INTERVAL;
        }
        if i >= depth {
            request = request.max(takes[i - depth] + 1);
        }
        let ready = request + fetch_latency(d);
        let offer = row.map_or(ready, |previous| ready.max(previous + fetch_interval(d)));
        row = Some(offer);
        // The hand-over frees the row's queue entry.
        let handed = hand_over(offer);
        takes.push(handed);
        finish = handed + 2;
    }
    (finish - 1).max(engine.drain()) + post_cycles(d)
}

/// Cycles from the engine's finish to its output row: the leading-zero
/// search (lz_bits), the reciprocal (recip_bits), the output chunks through
/// their 8-stage pipeline, and the state changes between them.
pub fn post_cycles(d: &Derived) -> u64 {
    u64::from(d.lz_bits) + u64::from(d.recip_bits) + u64::from(d.chunks) + 12
}

/// Cycles the shared crossbar port is held by one request: the request,
/// the crossbar's latency, and one cycle per keep beat.
pub fn crossbar_occupancy(d: &Derived) -> u64 {
    1 + u64::from(d.xbar_latency) + u64::from(d.xbar_beats)
}

/// What bounds a run's cycles ([`RunTiming::bound`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// The busiest core: its MAC lanes and its per-query sequencing (scan,
    /// fetch latency, normalisation).
    Cores,
    /// The shared memory port's bandwidth.
    MemoryBandwidth,
    /// The shared crossbar port: its latency and keep beats per request.
    CrossbarLatency,
}

impl Bound {
    pub fn label(self) -> &'static str {
        match self {
            Bound::Cores => "MAC lanes",
            Bound::MemoryBandwidth => "memory bandwidth",
            Bound::CrossbarLatency => "crossbar latency",
        }
    }
}

/// The cycle model of a whole run, per core and per shared port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunTiming {
    /// Each core's busy cycles: the sum of its queries' [`query_cycles`],
    /// core 0 first.
    pub core_cycles: Vec<u64>,
    /// Cycles the shared memory port carries rows: fetches × [`fetch_interval`].
    pub memory_port_cycles: u64,
    /// Cycles the shared crossbar port is held: requests × [`crossbar_occupancy`].
    pub crossbar_port_cycles: u64,
    /// The run: the largest of the above.
    pub cycles: u64,
    /// Which of them it is (the cores on a tie).
    pub bound: Bound,
}

impl RunTiming {
    /// The model of `queries` (a run's results, each with its core) in `mode`.
    pub fn new(d: &Derived, mode: Mode, queries: &[QueryResult]) -> RunTiming {
        let mut core_cycles = vec![0u64; d.cores as usize];
        for q in queries {
            core_cycles[q.core as usize] += query_cycles(d, mode, q);
        }
        let fetches: u64 = queries.iter().map(|q| u64::from(q.fetches)).sum();
        let requests = if mode.prune() {
            queries.len() as u64
        } else {
            0
        };
        let memory_port_cycles = fetches * fetch_interval(d);
        let crossbar_port_cycles = requests * crossbar_occupancy(d);
        // One core's ports are its own: their time is in its queries'.
        let shared = |port: u64| if d.cores > 1 { port } else { 0 };
        let busiest = core_cycles.iter().copied().max().unwrap_or(0);
        let (cycles, bound) = [
            (busiest, Bound::Cores),
            (shared(memory_port_cycles), Bound::MemoryBandwidth),
            (shared(crossbar_port_cycles), Bound::CrossbarLatency),
        ]
        .into_iter()
        .fold(
            (0, Bound::Cores),
            |best, next| {
                if next.0 > best.0 { next } else { best }
            },
        );
        RunTiming {
            core_cycles,
            memory_port_cycles,
            crossbar_port_cycles,
            cycles,
            bound,
        }
    }

    /// Each core's busy cycles as a fraction of the run's.
    pub fn utilisation(&self) -> Vec<f64> {
        self.core_cycles
            .iter()
            .map(|&c| c as f64 / self.cycles.max(1) as f64)
            .collect()
    }
}

/// Cycles of a whole run ([`RunTiming::cycles`]): with one core, the sum
/// over its queries.
pub fn run_cycles(d: &Derived, mode: Mode, queries: &[QueryResult]) -> u64 {
    RunTiming::new(d, mode, queries).cycles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_to_back_keys_cost_two_passes_each() {
        for n in 2..10u64 {
            let mut e = EngineTimeline::new(8, 0);
            for _ in 0..n {
                e.take(0);
            }
            // With two keys the second S pass starts as W takes the first
            // score, before any A pass holds the read port: one cycle less.
            let offset = if n == 2 { 20 } else { 21 };
            assert_eq!(e.drain(), 2 * n * 8 + offset, "{n} keys");
        }
        let mut e = EngineTimeline::new(8, 0);
        e.take(0);
        // S pass, score pipeline, W, A pass, accumulate.
        assert_eq!(
            e.drain(),
            2 * 8 + SCORE_LATENCY + WEIGHT_LATENCY + ACCUMULATE_LATENCY
        );
    }

    fn kept(keys: &[u32]) -> QueryResult {
        QueryResult {
            index: 0,
            core: 0,
            xbar_keep: None,
            kept: keys.to_vec(),
            order: keys.to_vec(),
            hits: 0,
            fetches: keys.len() as u32,
            evicts: 0,
            out: Vec::new(),
        }
    }

    #[test]
    fn a_scan_takes_a_cycle_per_key_or_per_empty_beat() {
        // 512 keys in 4 beats of 128, crossbar latency 8: beats hold 2, 0,
        // 1 and 0 kept keys.
        let d = Derived::from_spec(&crate::spec::Spec::default_spec());
        assert_eq!((d.xbar_beats, d.xbar_latency), (4, 8));
        let q = kept(&[0, 1, 300]);
        assert_eq!(kept_per_beat(&d, &q.kept), vec![2, 0, 1, 0]);
        // The query taken at cycle 2, emissions from cycle 14 (the beat
        // passes stages I and K); beats end at 19; the last key (cycle 17)
        // is in its list 6 cycles later.
        assert_eq!(scan_done(&d, Mode::PruneOnly, &q), 23);
        // Four empty beats.
        assert_eq!(scan_done(&d, Mode::PruneOnly, &kept(&[])), 18);
        // Without pruning: keys 0..10 emitted at cycles 3..=12.
        let all: Vec<u32> = (0..10).collect();
        assert_eq!(scan_done(&d, Mode::Baseline, &kept(&all)), 18);
        assert_eq!(scan_done(&d, Mode::Baseline, &kept(&[])), 3);
    }

    #[test]
    fn a_late_key_waits_for_its_offer() {
        let mut e = EngineTimeline::new(8, 0);
        assert_eq!(e.take(0), 0);
        assert_eq!(e.take(100), 100);
    }
}
