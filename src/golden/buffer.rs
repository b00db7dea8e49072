//! The on-chip K/V buffer's tags and its replacement policy. Only which key
//! sits in which slot matters to the golden model: the data is the key's own
//! K and V rows.
//!
//! Policy ([`crate::spec::Replacement::UnneededFirst`]): a fill takes the
//! lowest free slot, else the lowest slot the current query does not need,
//! else a slot the current query has already consumed, in round-robin order
//! (a pointer that starts at slot 0 for every head and moves past each slot
//! it gives), so that consecutive fills of a tiled query never wait for the
//! slot the engine is reading. Rows the current query still needs are
//! never evicted, because the controller consumes every resident kept row
//! (the hits) before its first fill.
//!
//! [`BufferTags::lookup`] answers from a key→slot map, as the RTL answers
//! from a key→slot RAM of depth seq_len checked against the slot's tag
//! (templates/buffer.v.hbs): a key is filled only when not resident, so a
//! resident key's entry is its slot.
//!
//! Two facts keep the victim search short without changing its answer:
//! slots are only emptied all at once ([`BufferTags::invalidate`]) and
//! filled lowest first, so the free slots are always a suffix; and within a
//! query slots only become consumed, so the lowest unconsumed slot only
//! moves up and a pointer that skips consumed slots finds it.

/// The key→slot entry of a key that is not resident.
const NOT_RESIDENT: u32 = u32::MAX;

/// Tag state of the buffer.
#[derive(Debug, Clone)]
pub struct BufferTags {
    /// Key held by each slot.
    tag: Vec<Option<u32>>,
    /// The slot of each resident key (the inverse of `tag`), indexed by
    /// key, [`NOT_RESIDENT`] for the others; grows to the largest key seen.
    slot_of: Vec<u32>,
    /// Slots `filled..` are free, slots `..filled` hold a key.
    filled: usize,
    /// Whether the current query has consumed each slot's row.
    consumed: Vec<bool>,
    /// No slot below this one is unconsumed in the current query.
    unconsumed_from: usize,
    /// Next slot to take when every slot is consumed.
    round_robin: usize,
}

/// Result of one fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fill {
    pub slot: usize,
    /// The key that was evicted, if the slot held one.
    pub evicted: Option<u32>,
}

impl BufferTags {
    /// An empty buffer of `slots` slots.
    pub fn new(slots: usize) -> BufferTags {
        BufferTags {
            tag: vec![None; slots],
            slot_of: Vec::new(),
            filled: 0,
            consumed: vec![false; slots],
            unconsumed_from: 0,
            round_robin: 0,
        }
    }

    /// Drops every row (new head, or a mode without reuse).
    pub fn invalidate(&mut self) {
        for key in self.tag.iter().flatten() {
            self.slot_of[*key as usize] = NOT_RESIDENT;
        }
        self.tag.fill(None);
        self.filled = 0;
        self.consumed.fill(false);
        self.unconsumed_from = 0;
        self.round_robin = 0;
    }

    /// Marks every row as not yet consumed by the query that starts now.
    pub fn start_query(&mut self) {
        self.consumed.fill(false);
        self.unconsumed_from = 0;
    }

    /// Slot holding key `key`, if resident.
    pub fn lookup(&self, key: u32) -> Option<usize> {
        match self.slot_of.get(key as usize) {
            Some(&slot) if slot != NOT_RESIDENT => Some(slot as usize),
            _ => None,
        }
    }

    /// Marks a hit's slot consumed.
    pub fn consume(&mut self, slot: usize) {
        self.consumed[slot] = true;
    }

    /// Places `key` into the victim slot and marks it consumed.
    pub fn fill(&mut self, key: u32) -> Fill {
        let slot = self.victim();
        let evicted = self.tag[slot].replace(key);
        if let Some(old) = evicted {
            self.slot_of[old as usize] = NOT_RESIDENT;
        }
        if self.slot_of.len() <= key as usize {
            self.slot_of.resize(key as usize + 1, NOT_RESIDENT);
        }
        self.slot_of[key as usize] = slot as u32;
        self.filled = self.filled.max(slot + 1);
        self.consumed[slot] = true;
        Fill { slot, evicted }
    }

    /// The lowest free slot, else the lowest unconsumed one, else the
    /// round-robin pointer's.
    fn victim(&mut self) -> usize {
        let slots = self.tag.len();
        if self.filled < slots {
            return self.filled;
        }
        while self.unconsumed_from < slots && self.consumed[self.unconsumed_from] {
            self.unconsumed_from += 1;
        }
        if self.unconsumed_from < slots {
            return self.unconsumed_from;
        }
        let slot = self.round_robin;
        self.round_robin = (slot + 1) % slots;
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_free_then_unneeded_then_consumed() {
        let mut b = BufferTags::new(2);
        b.start_query();
        assert_eq!(
            b.fill(5),
            Fill {
                slot: 0,
                evicted: None
            }
        );
        assert_eq!(
            b.fill(6),
            Fill {
                slot: 1,
                evicted: None
            }
        );
        // Next query needs 6 (a hit) and 9: 5 is unneeded and goes first.
        b.start_query();
        let hit = b.lookup(6).unwrap();
        b.consume(hit);
        assert_eq!(
            b.fill(9),
            Fill {
                slot: 0,
                evicted: Some(5)
            }
        );
        // Both consumed: the lowest consumed slot goes.
        assert_eq!(
            b.fill(10),
            Fill {
                slot: 0,
                evicted: Some(9)
            }
        );
    }

    /// The policy as the module docs state it, by plain search.
    struct Plain {
        tag: Vec<Option<u32>>,
        consumed: Vec<bool>,
        round_robin: usize,
    }

    impl Plain {
        fn fill(&mut self, key: u32) -> Fill {
            let free = self.tag.iter().position(Option::is_none);
            let unneeded = (0..self.tag.len()).find(|&s| !self.consumed[s]);
            let slot = free.or(unneeded).unwrap_or_else(|| {
                let s = self.round_robin;
                self.round_robin = (s + 1) % self.tag.len();
                s
            });
            let evicted = self.tag[slot].replace(key);
            self.consumed[slot] = true;
            Fill { slot, evicted }
        }
    }

    #[test]
    fn fills_and_lookups_match_the_plain_search() {
        let slots = 8;
        let mut fast = BufferTags::new(slots);
        let mut plain = Plain {
            tag: vec![None; slots],
            consumed: vec![false; slots],
            round_robin: 0,
        };
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for query in 0..400 {
            if query % 97 == 0 {
                fast.invalidate();
                plain.tag.fill(None);
                plain.consumed.fill(false);
                plain.round_robin = 0;
            }
            fast.start_query();
            plain.consumed.fill(false);
            let mut keys: Vec<u32> = (0..12)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % 40) as u32
                })
                .collect();
            keys.sort_unstable();
            keys.dedup();
            let (hits, misses): (Vec<u32>, Vec<u32>) =
                keys.iter().partition(|&&k| plain.tag.contains(&Some(k)));
            for &k in &hits {
                let slot = plain.tag.iter().position(|&t| t == Some(k));
                assert_eq!(fast.lookup(k), slot, "query {query} key {k}");
                fast.consume(slot.unwrap());
                plain.consumed[slot.unwrap()] = true;
            }
            for &k in &misses {
                assert_eq!(fast.lookup(k), None);
                assert_eq!(fast.fill(k), plain.fill(k), "query {query} key {k}");
            }
        }
    }
}
