//! Visitor sockets for the connection modes (`idle`, `reconnect`): connect from a chosen
//! loopback source address, read frames with a timeout, hold a socket open answering pings.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tokio_util::sync::CancellationToken;
use url::Url;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// First octet of the source range 127.0.0.N: .1 is left to everything else on the machine.
const FIRST_SOURCE: u8 = 10;
const SOURCES: u8 = 240;

/// The source address of socket `i` in cycle `cycle` when spreading over `k` addresses.
/// Each cycle moves to the next `k` addresses, so ports a previous cycle left in TIME_WAIT
/// are never needed again. `None` (let the kernel choose) for IPv6 targets or `k == 0`.
pub fn source_ip(dest: &SocketAddr, k: u8, cycle: usize, i: usize) -> Option<IpAddr> {
    if k == 0 || !dest.ip().is_loopback() || !dest.is_ipv4() {
        return None;
    }
    let k = usize::from(k);
    let slot = (cycle * k + i % k) % usize::from(SOURCES);
    Some(IpAddr::V4(Ipv4Addr::new(
        127,
        0,
        0,
        FIRST_SOURCE + slot as u8,
    )))
}

/// Source addresses needed so that `sockets` fit in one address's ephemeral port range
/// (about 28,000 ports by default; 20,000 leaves room for everything else).
pub fn sources_for(sockets: usize) -> u8 {
    sockets.div_ceil(20_000).clamp(1, usize::from(SOURCES)) as u8
}

pub async fn resolve(url: &Url) -> Result<SocketAddr> {
    let host = url.host_str().context("the URL has no host")?;
    let port = url.port_or_known_default().context("the URL has no port")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    tokio::net::lookup_host((host, port))
        .await?
        .next()
        .with_context(|| format!("{host} does not resolve"))
}

/// TCP connect (from `src` when given) and websocket upgrade, each bounded by `t`.
pub async fn open(url: &Url, addr: SocketAddr, src: Option<IpAddr>, t: Duration) -> Result<Ws> {
    let sock = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = src {
        sock.bind(SocketAddr::new(ip, 0))
            .with_context(|| format!("binding the source address {ip}"))?;
    }
    let stream = match timeout(t, sock.connect(addr)).await {
        Ok(r) => r.context("TCP connect")?,
        Err(_) => bail!("TCP connect timed out after {t:?}"),
    };
    let req = url.as_str().into_client_request()?;
    match timeout(
        t,
        tokio_tungstenite::client_async(req, MaybeTlsStream::Plain(stream)),
    )
    .await
    {
        Ok(r) => Ok(r.context("websocket upgrade")?.0),
        Err(_) => bail!("websocket upgrade timed out after {t:?}"),
    }
}

/// The next text frame before `deadline` (pings are answered by tungstenite and skipped).
pub async fn next_text(ws: &mut Ws, deadline: Instant) -> Result<String> {
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => bail!("timed out waiting for a frame"),
            Ok(None) => bail!("socket closed (eof)"),
            Ok(Some(Err(e))) => bail!("transport error: {e}"),
            Ok(Some(Ok(Message::Text(t)))) => return Ok(t),
            Ok(Some(Ok(Message::Close(c)))) => bail!("socket closed: {c:?}"),
            Ok(Some(Ok(_))) => {}
        }
    }
}

pub async fn send_text(ws: &mut Ws, text: String, t: Duration) -> Result<()> {
    match timeout(t, ws.send(Message::Text(text))).await {
        Ok(r) => Ok(r?),
        Err(_) => bail!("write timed out after {t:?}"),
    }
}

/// Keeps a socket open (reading, so pings get their pongs) until `stop`, then closes it.
/// A socket the server drops first is counted in `dropped`.
pub async fn hold(mut ws: Ws, stop: CancellationToken, dropped: Arc<AtomicU64>) {
    loop {
        tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            m = ws.next() => match m {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                    dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Some(Ok(_)) => {}
            },
        }
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    let _ = tokio::time::timeout_at(deadline, ws.close(None)).await;
    while let Ok(Some(Ok(m))) = tokio::time::timeout_at(deadline, ws.next()).await {
        if let Message::Close(_) = m {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_spread_over_addresses_and_cycles_move_on() {
        let dest: SocketAddr = "127.0.0.1:8080".parse().expect("addr");
        let ip = |c, i| source_ip(&dest, 3, c, i).map(|a| a.to_string());
        assert_eq!(ip(0, 0).as_deref(), Some("127.0.0.10"));
        assert_eq!(ip(0, 1).as_deref(), Some("127.0.0.11"));
        assert_eq!(ip(0, 3).as_deref(), Some("127.0.0.10"));
        assert_eq!(ip(1, 0).as_deref(), Some("127.0.0.13"));
        // Wraps inside 127.0.0.10–249.
        assert_eq!(ip(80, 0).as_deref(), Some("127.0.0.10"));
        let v6: SocketAddr = "[::1]:8080".parse().expect("addr");
        assert_eq!(source_ip(&v6, 3, 0, 0), None);
        assert_eq!(source_ip(&dest, 0, 0, 0), None);
    }

    #[test]
    fn fifty_thousand_sockets_need_three_addresses() {
        assert_eq!(sources_for(1), 1);
        assert_eq!(sources_for(20_000), 1);
        assert_eq!(sources_for(50_000), 3);
    }
}
