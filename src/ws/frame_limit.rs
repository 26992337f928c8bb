//! The frame size limit, enforced on the length a frame *declares*, before its payload is read.
//!
//! actix-http's websocket codec checks its limit only once the whole frame is buffered: a frame
//! over the limit sent slowly (or never finished) holds the socket open and grows its buffer.
//! This stream sits between the raw request payload and the codec, reads each frame header as
//! it goes past, and ends the input at the first header over the limit. Everything before that
//! frame is passed on, so earlier frames of the same read are still handled; the connection then
//! closes with 1009 (`ConnCore::input_ended`).

use actix_web::error::PayloadError;
use actix_web::web::{Bytes, BytesMut};
use futures_util::Stream;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

/// Longest frame header: 2 bytes, a 64-bit extended length, a 4-byte mask key.
const MAX_HEADER: usize = 14;

pub struct FrameLimit<S> {
    inner: S,
    limit: u64,
    /// Payload bytes of the current frame still to pass before the next header.
    payload_left: u64,
    /// A header split across reads, held until it is complete.
    header: BytesMut,
    done: bool,
    exceeded: Arc<AtomicBool>,
}

impl<S> FrameLimit<S> {
    /// `exceeded` is set when the input was ended because of an oversized frame.
    pub fn new(inner: S, limit: usize, exceeded: Arc<AtomicBool>) -> Self {
        FrameLimit {
            inner,
            limit: limit as u64,
            payload_left: 0,
            header: BytesMut::with_capacity(MAX_HEADER),
            done: false,
            exceeded,
        }
    }

    /// Passes `chunk` through the frame boundaries; returns the bytes to forward, and whether a
    /// header over the limit was found (nothing from that header on is forwarded).
    fn scan(&mut self, chunk: Bytes) -> (Bytes, bool) {
        let mut out = BytesMut::with_capacity(chunk.len() + self.header.len());
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            if self.payload_left > 0 {
                let n = rest
                    .len()
                    .min(usize::try_from(self.payload_left).unwrap_or(usize::MAX));
                out.extend_from_slice(&rest[..n]);
                rest = &rest[n..];
                self.payload_left -= n as u64;
                continue;
            }
            let want = header_len(&self.header).unwrap_or(2);
            let take = (want - self.header.len()).min(rest.len());
            self.header.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if header_len(&self.header) != Some(self.header.len()) {
                continue; // need more of the header (or its length bytes)
            }
            let declared = declared_len(&self.header);
            if declared > self.limit {
                return (out.freeze(), true);
            }
            out.extend_from_slice(&self.header);
            self.header.clear();
            self.payload_left = declared;
        }
        (out.freeze(), false)
    }
}

/// The full header length once the first two bytes are known.
fn header_len(h: &[u8]) -> Option<usize> {
    if h.len() < 2 {
        return None;
    }
    let ext = match h[1] & 0x7f {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    let mask = if h[1] & 0x80 != 0 { 4 } else { 0 };
    Some(2 + ext + mask)
}

fn declared_len(h: &[u8]) -> u64 {
    match h[1] & 0x7f {
        126 => u64::from(u16::from_be_bytes([h[2], h[3]])),
        127 => u64::from_be_bytes([h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]]),
        n => u64::from(n),
    }
}

impl<S> Stream for FrameLimit<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            match Pin::new(&mut this.inner).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    let (pass, over) = this.scan(chunk);
                    if over {
                        this.done = true;
                        this.exceeded.store(true, Ordering::Relaxed);
                    }
                    if !pass.is_empty() {
                        return Poll::Ready(Some(Ok(pass)));
                    }
                    if over {
                        return Poll::Ready(None);
                    }
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;

    fn masked_frame(len: usize) -> Vec<u8> {
        let mut f = vec![0x81];
        match len {
            0..=125 => f.push(0x80 | len as u8),
            126..=65535 => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&[1, 2, 3, 4]);
        f.extend(std::iter::repeat_n(b'x', len));
        f
    }

    async fn run(chunks: Vec<Vec<u8>>, limit: usize) -> (Vec<u8>, bool) {
        let flag = Arc::new(AtomicBool::new(false));
        let input = futures_util::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, PayloadError>(Bytes::from(c))),
        );
        let mut s = FrameLimit::new(input, limit, Arc::clone(&flag));
        let mut out = Vec::new();
        while let Some(Ok(b)) = s.next().await {
            out.extend_from_slice(&b);
        }
        (out, flag.load(Ordering::Relaxed))
    }

    #[actix_web::test]
    async fn frames_within_the_limit_pass_unchanged_however_they_are_split() {
        let mut all = masked_frame(5);
        all.extend(masked_frame(300));
        all.extend(masked_frame(70_000));
        let split: Vec<Vec<u8>> = all.chunks(3).map(<[u8]>::to_vec).collect();
        let (out, over) = run(split, 100_000).await;
        assert_eq!(out, all);
        assert!(!over);
    }

    #[actix_web::test]
    async fn a_header_over_the_limit_ends_the_input_before_its_payload() {
        let small = masked_frame(5);
        let mut big = masked_frame(2000);
        big.truncate(20); // only the header and a few payload bytes were sent
        let mut chunk = small.clone();
        chunk.extend(&big);
        let (out, over) = run(vec![chunk], 1000).await;
        assert_eq!(
            out, small,
            "the frame before the oversized one is passed on"
        );
        assert!(over);
    }

    #[actix_web::test]
    async fn a_64_bit_length_split_across_reads_is_caught() {
        let header = masked_frame(5_000_000)[..14].to_vec();
        let chunks = header.iter().map(|b| vec![*b]).collect();
        let (out, over) = run(chunks, 1 << 20).await;
        assert!(out.is_empty());
        assert!(over);
    }
}
