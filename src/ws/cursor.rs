//! Per-connection, per-session delivery cursors: which message sequence numbers a connection
//! has been sent, so that it gets every message of a session once and in `seq` order — across
//! a `resume`, and when live messages arrive out of order or with a hole.
//!
//! With several servers on one database, live messages of a session can arrive out of order
//! (seq 5, committed on this server, is delivered at once; seq 4, committed just before on
//! another, comes later through the broker) or not at all (a broker that missed it). So a live
//! message past a hole is not sent yet: the connection holds it, reads the session's messages
//! after what it was sent (`Live::Gap`), and sends history and held frames in `seq` order, each
//! once. Postgres is complete up to the held message when the read starts (a session's `seq`
//! is taken under its row lock, so message n is committed before n + 1), which is why after a
//! fill the cursor covers up to it even when history returned nothing for some seqs: a hole
//! this connection may not see costs one read, not one per message.
//!
//! With one server a connection that has a cursor sees contiguous seqs except where a message
//! was stored without being announced (a post whose commit answer was lost and whose actor no
//! longer remembers it; a Messenger conversation imported into an open session): the fill
//! then delivers what used to be missing until the client resumed.

use std::collections::HashMap;
use std::sync::Arc;

/// Frames held for one session while its history is read; past this the connection is
/// treated as lagging (closed with 4008; the client resumes). One read takes milliseconds, so
/// only a connection whose reads stall reaches it.
pub const MAX_HELD: usize = 256;

/// A frame held while a session's history is read: `message` frames carry their `seq`; the
/// session's other frames wait too, so they keep their place among its messages.
struct Held {
    seq: Option<i64>,
    frame: Arc<str>,
    /// The session left the connection's scope or ended with this frame: drop the cursor.
    forget: bool,
}

#[derive(Default)]
struct Cursor {
    /// What the connection was sent (or told it holds, by its resume) is one range.
    sent: Option<(i64, i64)>,
    /// History reads in flight (a resume, a gap fill); while any is, frames wait in `held`.
    reads: u32,
    held: Vec<Held>,
    /// The highest seq a finished gap fill covered, applied when the held frames go out.
    covered: Option<i64>,
}

impl Cursor {
    fn has(&self, seq: i64) -> bool {
        self.sent.is_some_and(|(a, b)| seq >= a && seq <= b)
    }
}

#[derive(Default)]
pub struct Cursors {
    map: HashMap<i64, Cursor>,
}

/// What to do with a frame that arrived for the connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Live {
    Send,
    /// A message the connection was already sent (or that comes before its range): dropped.
    Skip,
    /// Held until the session's history read in flight ends.
    Held,
    /// A message past a hole, now held: read the session's messages with `seq > after` and
    /// `finish` with `covered: upto`.
    Gap {
        after: i64,
        upto: i64,
    },
    /// More than `MAX_HELD` frames waiting: the connection is lagging.
    Overflow,
}

/// What a finished history read releases: frames to send now, in order, and — when a held
/// frame was past a hole that the read did not close — the next read to run.
#[derive(Debug, Default)]
pub struct Flush {
    pub frames: Vec<Arc<str>>,
    pub gap: Option<(i64, i64)>,
}

impl Cursors {
    /// A frame arrived for the connection: `seq` for a `message`, `forget` when the session
    /// leaves the connection's scope or ends with it. Frames of session 0 (contact frames) and
    /// of sessions without a cursor are never held.
    pub fn deliver(
        &mut self,
        session_id: i64,
        seq: Option<i64>,
        frame: &Arc<str>,
        forget: bool,
    ) -> Live {
        let Some(seq) = seq else {
            let held = match self.map.get_mut(&session_id) {
                Some(c) if c.reads > 0 => hold(c, None, frame, forget),
                _ => None,
            };
            if let Some(outcome) = held {
                return outcome;
            }
            if forget {
                self.forget(session_id);
            }
            return Live::Send;
        };
        let outcome = self.live(session_id, seq, frame, forget);
        // A held frame forgets when it is released.
        if forget && matches!(outcome, Live::Send | Live::Skip) {
            self.forget(session_id);
        }
        outcome
    }

    fn live(&mut self, session_id: i64, seq: i64, frame: &Arc<str>, forget: bool) -> Live {
        let c = self.map.entry(session_id).or_default();
        if c.has(seq) {
            return Live::Skip;
        }
        if c.reads > 0 {
            return hold(c, Some(seq), frame, forget).unwrap_or(Live::Held);
        }
        match c.sent {
            Some((_, last)) if seq <= last => Live::Skip,
            Some((first, last)) if seq == last + 1 => {
                c.sent = Some((first, seq));
                Live::Send
            }
            Some((_, last)) => {
                c.reads += 1;
                c.held.push(Held {
                    seq: Some(seq),
                    frame: Arc::clone(frame),
                    forget,
                });
                Live::Gap {
                    after: last,
                    upto: seq,
                }
            }
            None => {
                c.sent = Some((seq, seq));
                Live::Send
            }
        }
    }

    pub fn forget(&mut self, session_id: i64) {
        self.map.remove(&session_id);
    }

    /// Starts a resume: the session's frames are held back until `finish`.
    pub fn begin(&mut self, session_id: i64) {
        self.map.entry(session_id).or_default().reads += 1;
    }

    /// A history read ended: given the stored messages with `seq > after` (in order) and, for a
    /// gap fill, the seq that started it (`covered`: Postgres held every message up to it when
    /// the read began), returns the frames to send, in order — history not already sent, then,
    /// once no other read is in flight, the held frames past it (a held message past a newer
    /// hole starts the next read).
    pub fn finish(
        &mut self,
        session_id: i64,
        after: i64,
        covered: Option<i64>,
        history: Vec<(i64, Arc<str>)>,
    ) -> Flush {
        let c = self.map.entry(session_id).or_default();
        c.reads = c.reads.saturating_sub(1);
        let mut flush = Flush::default();
        let mut last = after;
        for (seq, frame) in history {
            if seq > last && !c.has(seq) {
                flush.frames.push(frame);
            }
            last = last.max(seq);
        }
        c.sent = Some(match c.sent {
            Some((a, b)) => (a.min(after + 1), b.max(last)),
            None => (after + 1, last),
        });
        c.covered = c.covered.max(covered);
        if c.reads > 0 {
            return flush;
        }
        // Messages in seq order (they may have arrived in any); the session's other frames
        // stay after the message they followed.
        let mut key = i64::MIN;
        let mut held: Vec<(i64, Held)> = std::mem::take(&mut c.held)
            .into_iter()
            .map(|h| {
                key = h.seq.map_or(key, |seq| key.max(seq));
                (h.seq.unwrap_or(key), h)
            })
            .collect();
        held.sort_by_key(|(k, _)| *k);
        let covered = c.covered.take();
        self.release(
            session_id,
            held.into_iter().map(|(_, h)| h),
            covered,
            &mut flush,
        );
        flush
    }

    /// Delivers held frames again, in order, now that no read is in flight. Up to `covered`
    /// the range has no hole left (what history lacked there, this connection does not see),
    /// so a held message there goes out as it is; past it, each is a live message again.
    fn release(
        &mut self,
        session_id: i64,
        held: impl Iterator<Item = Held>,
        mut covered: Option<i64>,
        flush: &mut Flush,
    ) {
        for h in held {
            if let (Some(upto), Some(seq)) = (covered, h.seq) {
                if seq <= upto {
                    if self.extend(session_id, seq) {
                        flush.frames.push(Arc::clone(&h.frame));
                    }
                    if h.forget {
                        self.forget(session_id);
                        covered = None;
                    }
                    continue;
                }
                self.extend(session_id, upto);
                covered = None;
            }
            match self.deliver(session_id, h.seq, &h.frame, h.forget) {
                Live::Send => flush.frames.push(h.frame),
                Live::Gap { after, upto } => flush.gap = Some((after, upto)),
                Live::Skip | Live::Held | Live::Overflow => {}
            }
            if h.forget && !self.map.contains_key(&session_id) {
                covered = None;
            }
        }
        if let Some(upto) = covered {
            self.extend(session_id, upto);
        }
    }

    /// Moves the top of a session's range up to `seq`; whether `seq` was not in it before.
    fn extend(&mut self, session_id: i64, seq: i64) -> bool {
        let Some(c) = self.map.get_mut(&session_id) else {
            return false;
        };
        if c.has(seq) {
            return false;
        }
        c.sent = Some(match c.sent {
            Some((a, b)) => (a, b.max(seq)),
            None => (seq, seq),
        });
        true
    }
}

/// Holds a frame of a session whose history is being read; `Some(Overflow)` past the bound.
fn hold(c: &mut Cursor, seq: Option<i64>, frame: &Arc<str>, forget: bool) -> Option<Live> {
    if c.held.len() >= MAX_HELD {
        return Some(Live::Overflow);
    }
    c.held.push(Held {
        seq,
        frame: Arc::clone(frame),
        forget,
    });
    Some(Live::Held)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(seq: i64) -> (i64, Arc<str>) {
        (seq, Arc::from(seq.to_string()))
    }
    fn texts(v: Vec<Arc<str>>) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }
    fn live(c: &mut Cursors, sid: i64, seq: i64) -> Live {
        c.deliver(sid, Some(seq), &f(seq).1, false)
    }

    #[test]
    fn live_messages_are_sent_once() {
        let mut c = Cursors::default();
        assert_eq!(live(&mut c, 1, 5), Live::Send);
        assert_eq!(live(&mut c, 1, 5), Live::Skip);
        assert_eq!(live(&mut c, 1, 6), Live::Send);
    }

    #[test]
    fn resume_fills_the_gap_without_doubling_live_messages() {
        let mut c = Cursors::default();
        // Connected after a drop: 8 arrived live before the client asked to resume after 4.
        assert_eq!(live(&mut c, 1, 8), Live::Send);
        c.begin(1);
        assert_eq!(live(&mut c, 1, 9), Live::Held);
        let out = c.finish(1, 4, None, vec![f(5), f(6), f(7), f(8), f(9)]);
        assert_eq!(texts(out.frames), ["5", "6", "7", "9"]);
        assert_eq!(out.gap, None);
        assert_eq!(live(&mut c, 1, 9), Live::Skip);
        assert_eq!(live(&mut c, 1, 10), Live::Send);
    }

    #[test]
    fn held_messages_past_history_are_flushed_in_order() {
        let mut c = Cursors::default();
        c.begin(2);
        live(&mut c, 2, 4);
        live(&mut c, 2, 3);
        let out = c.finish(2, 0, None, vec![f(1), f(2), f(3)]);
        assert_eq!(texts(out.frames), ["1", "2", "3", "4"]);
    }

    #[test]
    fn a_message_past_a_hole_is_held_and_sent_after_the_filled_ones() {
        let mut c = Cursors::default();
        assert_eq!(live(&mut c, 1, 3), Live::Send);
        // 4 was committed on another server and has not arrived: 5 waits for it.
        assert_eq!(live(&mut c, 1, 5), Live::Gap { after: 3, upto: 5 });
        assert_eq!(live(&mut c, 1, 6), Live::Held);
        let out = c.finish(1, 3, Some(5), vec![f(4), f(5)]);
        assert_eq!(texts(out.frames), ["4", "5", "6"]);
        assert_eq!(out.gap, None);
        assert_eq!(live(&mut c, 1, 7), Live::Send);
    }

    #[test]
    fn a_message_that_arrives_after_its_fill_is_dropped() {
        let mut c = Cursors::default();
        live(&mut c, 1, 1);
        assert_eq!(live(&mut c, 1, 3), Live::Gap { after: 1, upto: 3 });
        // Arriving during the read, 2 waits with the rest and is not sent twice.
        assert_eq!(live(&mut c, 1, 2), Live::Held);
        let out = c.finish(1, 1, Some(3), vec![f(2), f(3)]);
        assert_eq!(texts(out.frames), ["2", "3"]);
        // Arriving after it, through the slower server, 2 is a duplicate.
        assert_eq!(live(&mut c, 1, 2), Live::Skip);
        assert_eq!(live(&mut c, 1, 3), Live::Skip);
        assert_eq!(live(&mut c, 1, 4), Live::Send);
    }

    #[test]
    fn a_hole_that_history_does_not_hold_is_read_once() {
        let mut c = Cursors::default();
        live(&mut c, 1, 1);
        assert_eq!(live(&mut c, 1, 3), Live::Gap { after: 1, upto: 3 });
        // Seq 2 is not this connection's to see: history has only 3.
        let out = c.finish(1, 1, Some(3), vec![f(3)]);
        assert_eq!(texts(out.frames), ["3"]);
        assert_eq!(out.gap, None);
        assert_eq!(live(&mut c, 1, 4), Live::Send);
    }

    #[test]
    fn a_held_message_goes_out_when_history_lacks_it() {
        let mut c = Cursors::default();
        live(&mut c, 1, 1);
        assert_eq!(live(&mut c, 1, 3), Live::Gap { after: 1, upto: 3 });
        // The session left the connection's scope before the read: nothing came back.
        let out = c.finish(1, 1, Some(3), Vec::new());
        assert_eq!(texts(out.frames), ["3"]);
        assert_eq!(live(&mut c, 1, 3), Live::Skip);
        assert_eq!(live(&mut c, 1, 4), Live::Send);
    }

    #[test]
    fn a_held_message_past_a_newer_hole_starts_the_next_fill() {
        let mut c = Cursors::default();
        live(&mut c, 1, 1);
        assert_eq!(live(&mut c, 1, 3), Live::Gap { after: 1, upto: 3 });
        // 5 arrives during the read, 4 (committed after the read began) has not.
        assert_eq!(live(&mut c, 1, 5), Live::Held);
        let out = c.finish(1, 1, Some(3), vec![f(2), f(3)]);
        assert_eq!(texts(out.frames), ["2", "3"]);
        assert_eq!(out.gap, Some((3, 5)));
        let out = c.finish(1, 3, Some(5), vec![f(4), f(5)]);
        assert_eq!(texts(out.frames), ["4", "5"]);
        assert_eq!(out.gap, None);
    }

    #[test]
    fn frames_of_a_session_being_filled_keep_their_place() {
        let mut c = Cursors::default();
        let ended: Arc<str> = Arc::from("ended");
        live(&mut c, 1, 1);
        assert_eq!(live(&mut c, 1, 3), Live::Gap { after: 1, upto: 3 });
        assert_eq!(c.deliver(1, None, &ended, true), Live::Held);
        // Another session's frames are not held.
        assert_eq!(c.deliver(2, None, &ended, false), Live::Send);
        let out = c.finish(1, 1, Some(3), vec![f(2), f(3)]);
        assert_eq!(texts(out.frames), ["2", "3", "ended"]);
        // The session ended with the held frame: its cursor is gone.
        assert_eq!(live(&mut c, 1, 9), Live::Send);
    }

    #[test]
    fn too_many_held_frames_overflow() {
        let mut c = Cursors::default();
        live(&mut c, 1, 1);
        assert_eq!(live(&mut c, 1, 3), Live::Gap { after: 1, upto: 3 });
        for seq in 4..(3 + MAX_HELD as i64) {
            assert_eq!(live(&mut c, 1, seq), Live::Held);
        }
        assert_eq!(live(&mut c, 1, 3 + MAX_HELD as i64), Live::Overflow);
    }

    #[test]
    fn a_resume_during_a_fill_releases_held_frames_only_when_both_end() {
        let mut c = Cursors::default();
        live(&mut c, 1, 5);
        assert_eq!(live(&mut c, 1, 7), Live::Gap { after: 5, upto: 7 });
        c.begin(1);
        let out = c.finish(1, 2, None, vec![f(3), f(4), f(5), f(6), f(7)]);
        assert_eq!(texts(out.frames), ["3", "4", "6", "7"]);
        let out = c.finish(1, 5, Some(7), vec![f(6), f(7)]);
        assert!(out.frames.is_empty());
        assert_eq!(live(&mut c, 1, 8), Live::Send);
    }
}
