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
//!   reads of its V row). Passes share the read port; a queue of
//!   `key_depth` keys lets S passes run ahead of the A passes far enough
//!   to hide the score and weight latency (S(i+2) | A(i) for C = 4,
//!   S(i+1) | A(i) for C >= 8), so in steady state a key costs 2·C cycles
//!   (the MAC bound). A query of n >= 3 keys taken back to back costs
//!   `2·n·C + 21` engine cycles when C = 8.
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

use std::collections::VecDeque;

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

/// Cycles from a key's S pass decision to its weight in the key queue,
/// with `chunks` reads a pass: the pass's reads, then [`SCORE_LATENCY`] and
/// [`WEIGHT_LATENCY`]. The cycle model, the key queue's depth and the
/// engine's comment all take it from here.
pub fn weight_ready_cycles(chunks: u64) -> u64 {
    chunks + SCORE_LATENCY + WEIGHT_LATENCY
}

/// Engine cycles of one key in steady state: the read port's 2 × chunks
/// (the MAC bound), as long as the key queue ([`super::derived::key_depth`])
/// covers the S-to-A latency and W takes a score every 2 cycles or less
/// often; with one chunk a pass the read port alternates S and A and a pass
/// never follows one of its own kind at once (2 cycles a key).
pub fn engine_key_cycles(d: &Derived) -> u64 {
    2 * u64::from(d.chunks)
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
/// may be decided at t+C (t+2 when C = 1 and the two are of one kind). An S
/// pass needs a free entry in the key queue (`depth` keys from their S
/// pass's decision to their A pass's); its key's score is complete at
/// t+C+[`SCORE_LATENCY`], W takes it that cycle (W is a pipeline that takes
/// a score every cycle it has one, and scores are at least 2 cycles apart)
/// and the key's weight is in the queue [`WEIGHT_LATENCY`] cycles later,
/// when its A pass may be decided. A passes take the keys in order. After
/// an S pass an A pass is preferred, after an A pass an S pass.
#[derive(Debug, Clone)]
pub struct EngineTimeline {
    chunks: u64,
    depth: usize,
    /// Earliest cycle the next S pass may be decided.
    s_free: u64,
    /// Earliest cycle the next A pass may be decided.
    a_free: u64,
    /// The latest pass was an A pass (true before the first pass).
    last_a: bool,
    /// The cycle each queued key's weight is ready, oldest first.
    queue: VecDeque<u64>,
    /// Cycle the engine is idle after the latest A pass.
    drained: u64,
}

impl EngineTimeline {
    /// An empty engine at cycle `now` with `chunks` reads per pass and a
    /// key queue of `depth` entries.
    pub fn new(chunks: u64, depth: u64, now: u64) -> EngineTimeline {
        EngineTimeline {
            chunks,
            depth: depth as usize,
            s_free: now,
            a_free: now,
            last_a: true,
            queue: VecDeque::new(),
            drained: now,
        }
    }

    /// The engine of `d`'s spec, empty at cycle `now`.
    pub fn for_spec(d: &Derived, now: u64) -> EngineTimeline {
        EngineTimeline::new(u64::from(d.chunks), u64::from(d.key_depth), now)
    }

    /// Marks a pass of kind A (`a`) decided at `t`: the port's next
    /// decisions.
    fn pass(&mut self, t: u64, a: bool) {
        let same = t + self.chunks.max(2);
        let other = t + self.chunks;
        (self.s_free, self.a_free) = if a { (other, same) } else { (same, other) };
        self.last_a = a;
    }

    /// Starts the A pass of the queue's oldest key at decision cycle `t`.
    fn start_a(&mut self, t: u64) {
        self.queue.pop_front();
        self.pass(t, true);
        self.drained = t + self.chunks + ACCUMULATE_LATENCY;
    }

    /// The cycle the oldest queued key's A pass may be decided.
    fn a_ready(&self) -> Option<u64> {
        self.queue.front().map(|&r| r.max(self.a_free))
    }

    /// A key offered (valid) from cycle `offer`: returns the cycle the
    /// engine takes it (decides its S pass).
    pub fn take(&mut self, offer: u64) -> u64 {
        loop {
            let ts = (self.queue.len() < self.depth).then(|| offer.max(self.s_free));
            let ta = self.a_ready();
            let a_first = match (ts, ta) {
                (Some(ts), Some(ta)) => ta < ts || (ta == ts && !self.last_a),
                (None, _) => true,
                (Some(_), None) => false,
            };
            if a_first {
                self.start_a(ta.expect("a full queue holds a key"));
                continue;
            }
            let t = ts.expect("an S pass is possible");
            self.pass(t, false);
            self.queue.push_back(t + weight_ready_cycles(self.chunks));
            return t;
        }
    }

    /// Runs the remaining A passes: the cycle the engine is idle again.
    pub fn drain(&mut self) -> u64 {
        while let Some(t) = self.a_ready() {
            self.start_a(t);
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

/// Cycles between requests: the buffer shows a new victim two cycles after
/// a fill (its search is two register stages deep), and the check that the
/// engine no longer reads it is registered.
/// The next list entry, read the cycle after a request (its take is
/// registered before it reaches the list), is valid within the interval.
pub const REQUEST_INTERVAL: u64 = 4;

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
    let mut engine = EngineTimeline::for_spec(d, hits_start);
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
        // C = 8 (sprint_s), a queue of 2 keys: S(i+1) | A(i).
        for n in 2..10u64 {
            let mut e = EngineTimeline::new(8, 2, 0);
            for _ in 0..n {
                e.take(0);
            }
            // With two keys both S passes run before the first weight is
            // ready and the A passes follow each other: 8 cycles less.
            let offset = if n == 2 { 13 } else { 21 };
            assert_eq!(e.drain(), 2 * n * 8 + offset, "{n} keys");
        }
        let mut e = EngineTimeline::new(8, 2, 0);
        e.take(0);
        // S pass, score pipeline, W, A pass, accumulate.
        assert_eq!(
            e.drain(),
            2 * 8 + SCORE_LATENCY + WEIGHT_LATENCY + ACCUMULATE_LATENCY
        );
    }

    #[test]
    fn a_short_pass_needs_a_deeper_queue() {
        // C = 4 (minilm): a queue of 3 keys runs S(i+2) | A(i) at 8 cycles
        // a key once the first weight is ready (S passes at 0, 4, 8, A(0)
        // at 20).
        assert_eq!(super::super::derived::key_depth(4, 256), 3);
        assert_eq!(super::super::derived::key_depth(8, 256), 2);
        assert_eq!(super::super::derived::key_depth(4, 4), 2);
        let n = 50u64;
        let mut e = EngineTimeline::new(4, 3, 0);
        let starts: Vec<u64> = (0..n).map(|_| e.take(0)).collect();
        assert_eq!(&starts[..5], &[0, 4, 8, 24, 32]);
        assert!(starts.windows(2).skip(3).all(|w| w[1] - w[0] == 8));
        // The last A pass at 8 (n - 1) + 20, then 4 reads and 5 cycles.
        assert_eq!(e.drain(), 8 * (n - 1) + 20 + 4 + ACCUMULATE_LATENCY);
        // One chunk: passes of one kind are 2 cycles apart.
        let mut e = EngineTimeline::new(1, 9, 0);
        assert_eq!((e.take(0), e.take(0)), (0, 2));
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
        let mut e = EngineTimeline::new(8, 2, 0);
        assert_eq!(e.take(0), 0);
        assert_eq!(e.take(100), 100);
    }
}
