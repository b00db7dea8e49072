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
//! [`BufferTags::lookup`] is a search of the tags here; the RTL answers it
//! from a key→slot RAM of depth seq_len checked against the slot's tag
//! (templates/buffer.v.hbs), which gives the same answer: a key is filled
//! only when not resident, so a resident key's table entry is its slot.

/// Tag state of the buffer.
#[derive(Debug, Clone)]
pub struct BufferTags {
    /// Key held by each slot.
    tag: Vec<Option<u32>>,
    /// Whether the current query has consumed each slot's row.
    consumed: Vec<bool>,
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
            consumed: vec![false; slots],
            round_robin: 0,
        }
    }

    /// Drops every row (new head, or a mode without reuse).
    pub fn invalidate(&mut self) {
        self.tag.fill(None);
        self.consumed.fill(false);
        self.round_robin = 0;
    }

    /// Marks every row as not yet consumed by the query that starts now.
    pub fn start_query(&mut self) {
        self.consumed.fill(false);
    }

    /// Slot holding key `key`, if resident.
    pub fn lookup(&self, key: u32) -> Option<usize> {
        self.tag.iter().position(|&t| t == Some(key))
    }

    /// Marks a hit's slot consumed.
    pub fn consume(&mut self, slot: usize) {
        self.consumed[slot] = true;
    }

    /// Places `key` into the victim slot and marks it consumed.
    pub fn fill(&mut self, key: u32) -> Fill {
        let slot = self.victim();
        let evicted = self.tag[slot].replace(key);
        self.consumed[slot] = true;
        Fill { slot, evicted }
    }

    fn victim(&mut self) -> usize {
        let free = self.tag.iter().position(Option::is_none);
        let unneeded = || (0..self.tag.len()).find(|&s| !self.consumed[s]);
        free.or_else(unneeded).unwrap_or_else(|| {
            let slot = self.round_robin;
            self.round_robin = (slot + 1) % self.tag.len();
            slot
        })
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
}
