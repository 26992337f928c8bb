//! Per-connection, per-session delivery cursors: which message sequence numbers a connection
//! has been sent, so that `resume` sends exactly the missing ones and live messages that race
//! a resume are neither lost nor doubled.

use std::collections::HashMap;
use std::sync::Arc;

#[derive(Default)]
struct Cursor {
    /// Live messages of a session reach a connection contiguously (a gap only happens when
    /// the connection is dropped), so what it was sent is one range.
    sent: Option<(i64, i64)>,
    /// While a resume reads history, live messages wait here.
    buffered: Option<Vec<(i64, Arc<str>)>>,
}

#[derive(Default)]
pub struct Cursors {
    map: HashMap<i64, Cursor>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Live {
    Send,
    Skip,
    Buffered,
}

impl Cursors {
    /// A live message arrived for the connection.
    pub fn live(&mut self, session_id: i64, seq: i64, frame: &Arc<str>) -> Live {
        let c = self.map.entry(session_id).or_default();
        if let Some(buf) = &mut c.buffered {
            buf.push((seq, Arc::clone(frame)));
            return Live::Buffered;
        }
        match c.sent {
            Some((_, last)) if seq <= last => Live::Skip,
            Some((first, _)) => {
                c.sent = Some((first, seq));
                Live::Send
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

    /// Starts a resume: live messages are held back until `finish`.
    pub fn begin(&mut self, session_id: i64) {
        self.map.entry(session_id).or_default().buffered = Some(Vec::new());
    }

    /// Given the stored messages with `seq > after_seq` (in order), returns the frames to send,
    /// in order: history not already sent live, then held-back live messages past it.
    pub fn finish(
        &mut self,
        session_id: i64,
        after_seq: i64,
        history: Vec<(i64, Arc<str>)>,
    ) -> Vec<Arc<str>> {
        let c = self.map.entry(session_id).or_default();
        let held = c.buffered.take().unwrap_or_default();
        let mut out = Vec::new();
        let mut last = after_seq;
        let already = c.sent;
        for (seq, frame) in history.into_iter().chain(held) {
            let sent_before = already.is_some_and(|(a, b)| seq >= a && seq <= b);
            if seq > last && !sent_before {
                out.push(frame);
            }
            last = last.max(seq);
        }
        let first = match already {
            Some((a, _)) => a.min(after_seq + 1),
            None => after_seq + 1,
        };
        let top = already.map_or(last, |(_, b)| b.max(last));
        c.sent = Some((first, top));
        out
    }
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

    #[test]
    fn live_messages_are_sent_once() {
        let mut c = Cursors::default();
        assert_eq!(c.live(1, 5, &f(5).1), Live::Send);
        assert_eq!(c.live(1, 5, &f(5).1), Live::Skip);
        assert_eq!(c.live(1, 6, &f(6).1), Live::Send);
    }

    #[test]
    fn resume_fills_the_gap_without_doubling_live_messages() {
        let mut c = Cursors::default();
        // Connected after a drop: 8 arrived live before the client asked to resume after 4.
        assert_eq!(c.live(1, 8, &f(8).1), Live::Send);
        c.begin(1);
        assert_eq!(c.live(1, 9, &f(9).1), Live::Buffered);
        let out = c.finish(1, 4, vec![f(5), f(6), f(7), f(8), f(9)]);
        assert_eq!(texts(out), ["5", "6", "7", "9"]);
        assert_eq!(c.live(1, 9, &f(9).1), Live::Skip);
        assert_eq!(c.live(1, 10, &f(10).1), Live::Send);
    }

    #[test]
    fn held_messages_past_history_are_flushed_in_order() {
        let mut c = Cursors::default();
        c.begin(2);
        c.live(2, 3, &f(3).1);
        c.live(2, 4, &f(4).1);
        let out = c.finish(2, 0, vec![f(1), f(2), f(3)]);
        assert_eq!(texts(out), ["1", "2", "3", "4"]);
    }
}
