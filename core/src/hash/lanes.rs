//! Many hashes at once: chain steps for readers that check a run of
//! records, and the nodes of one level of a Merkle tree.
//!
//! A writer extends the chain one event after another: each hash is the
//! next one's input. A reader need not: every record carries the hash it
//! links to (`prev_hash`), so it can hash each event from its own record's
//! claim, several at a time, and then check that each claim is the hash
//! computed for the event before it. By induction from a known head, that
//! proves the same chain a one-by-one walk would.
//!
//! SHA-NI runs one message's rounds one after another, each waiting on the
//! last (on the bench machine, an AMD EPYC, about 36 ns a block). Four
//! independent messages interleaved keep the unit busy: about 20 ns a
//! block. `shani_x4` is that kernel; this module feeds it whole messages
//! of any lengths, a lane taking the next message as soon as its own ends.
//! Without SHA-NI (or off x86-64), each message goes through `chain_step`.
//!
//! A tree level's nodes need no chain argument: they are independent by
//! construction, so `sha256_padded_x4` just hashes four at a time.

use super::message::{digest_of, sha256_padded, Block, ChainMessage, SHA256_IV};
use super::{chain_step, Hash};

/// One event to hash: the chain hash its record links to, its offset and
/// its payload.
#[derive(Debug, Clone, Copy)]
pub struct Link<'a> {
    pub prev: &'a Hash,
    pub offset: u64,
    pub payload: &'a [u8],
}

/// `chain_step` of each link, in order, into `out` (cleared first).
pub fn chain_steps(links: &[Link<'_>], out: &mut Vec<Hash>) {
    out.clear();
    #[cfg(target_arch = "x86_64")]
    if links.len() >= super::shani_x4::LANES && super::shani_x4::available() {
        return interleaved(links, out);
    }
    out.extend(
        links
            .iter()
            .map(|l| chain_step(l.prev, l.offset, l.payload)),
    );
}

/// SHA-256 of four messages already padded into `N` blocks each, side by
/// side on SHA-NI where the CPU has it. A Merkle tree's nodes come in
/// such fours: every level of a chunk is a row of two-block messages.
pub(crate) fn sha256_padded_x4<const N: usize>(messages: &[[Block; N]; 4]) -> [Hash; 4] {
    #[cfg(target_arch = "x86_64")]
    if super::shani_x4::available() {
        use super::shani_x4::{compress_x4, LANES};
        const { assert!(LANES == 4) };
        let mut states = [SHA256_IV; LANES];
        for i in 0..N {
            compress_x4(&mut states, messages.each_ref().map(|m| &m[i]));
        }
        return states.map(digest_of);
    }
    messages.each_ref().map(|m| sha256_padded(m))
}

/// A message in a lane: which link, its blocks, and how many are done.
#[cfg(target_arch = "x86_64")]
struct Lane<'a> {
    link: usize,
    message: ChainMessage<'a>,
    done: usize,
}

/// Four lanes in step while four messages are left; the last few one by
/// one.
#[cfg(target_arch = "x86_64")]
fn interleaved(links: &[Link<'_>], out: &mut Vec<Hash>) {
    use super::shani_x4::{compress_x4, LANES};
    out.resize(links.len(), [0u8; 32]);
    let mut states = [SHA256_IV; LANES];
    let mut lanes: [Lane<'_>; LANES] = std::array::from_fn(|i| Lane {
        link: i,
        message: ChainMessage::new(links[i].prev, links[i].offset, links[i].payload),
        done: 0,
    });
    let mut next = LANES;
    loop {
        compress_x4(
            &mut states,
            lanes.each_ref().map(|l| l.message.block(l.done)),
        );
        let mut drained = false;
        for (lane, state) in lanes.iter_mut().zip(states.iter_mut()) {
            lane.done += 1;
            if lane.done < lane.message.len() {
                continue;
            }
            out[lane.link] = digest_of(*state);
            if let Some(l) = links.get(next) {
                lane.message.load(l.prev, l.offset, l.payload);
                lane.link = next;
                lane.done = 0;
                *state = SHA256_IV;
                next += 1;
            } else {
                drained = true;
            }
        }
        if drained {
            break;
        }
    }
    // Fewer messages left than lanes: those still in one finish alone.
    for (lane, state) in lanes.iter().zip(states) {
        if lane.done < lane.message.len() {
            let mut state = state;
            for i in lane.done..lane.message.len() {
                sha2::compress256(&mut state, std::slice::from_ref(lane.message.block(i)));
            }
            out[lane.link] = digest_of(state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn one_by_one(links: &[Link<'_>]) -> Vec<Hash> {
        links
            .iter()
            .map(|l| chain_step(l.prev, l.offset, l.payload))
            .collect()
    }

    #[test]
    fn every_length_in_every_lane() {
        let data: Vec<u8> = (0..400u32).map(|i| (i * 13 + 7) as u8).collect();
        let prevs: Vec<Hash> = (0..400u32)
            .map(|i| std::array::from_fn(|j| (i as u8).wrapping_mul(31) ^ j as u8))
            .collect();
        // Lengths rising, falling and mixed with long ones, so lanes end
        // at different blocks and take up new messages out of step.
        for order in 0..3 {
            let links: Vec<Link<'_>> = (0..400usize)
                .map(|i| {
                    let len = match order {
                        0 => i,
                        1 => 399 - i,
                        _ => (i * 97) % 400,
                    };
                    Link {
                        prev: &prevs[i],
                        offset: i as u64 * 3,
                        payload: &data[..len],
                    }
                })
                .collect();
            let mut out = Vec::new();
            chain_steps(&links, &mut out);
            assert_eq!(out, one_by_one(&links), "order {order}");
        }
    }

    proptest! {
        #[test]
        fn the_same_as_one_by_one(
            payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..600), 0..24),
            prev in any::<[u8; 32]>(),
            offset in any::<u64>(),
        ) {
            let links: Vec<Link<'_>> = payloads
                .iter()
                .enumerate()
                .map(|(i, p)| Link { prev: &prev, offset: offset.wrapping_add(i as u64), payload: p })
                .collect();
            let mut out = vec![[9u8; 32]];
            chain_steps(&links, &mut out);
            prop_assert_eq!(out, one_by_one(&links));
        }
    }
}
