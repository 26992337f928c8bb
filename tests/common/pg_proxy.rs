//! A TCP proxy in front of a private cluster's unix socket that can lose the answer to one
//! COMMIT: the commit reaches PostgreSQL and succeeds, then the connection dies before the
//! server hears back — the one outcome a client cannot tell from a failed commit.
//!
//! It reads the frontend protocol only as far as it must: message boundaries, the SQL of
//! `Parse` and simple `Query` messages, and which prepared statement a `Bind` runs, so it can
//! pick "the COMMIT of a transaction that inserted into `messages`" rather than whatever
//! background work happens to commit first.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};

pub struct PgProxy {
    /// `postgres://…@127.0.0.1:PORT/DB?sslmode=disable`.
    pub url: String,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Shared {
    /// The next COMMIT of a transaction that inserted a message loses its answer.
    armed: AtomicBool,
    /// How many answers were lost.
    cuts: AtomicUsize,
    /// Whether the lost answer takes the database down with it: every connection ends at its
    /// next message and new ones are closed at once, until `come_back`.
    stay_down: AtomicBool,
    down: AtomicBool,
}

const SSL_REQUEST: i32 = 80877103;
const GSSENC_REQUEST: i32 = 80877104;

impl PgProxy {
    pub async fn start(socket: PathBuf, user: &str, dbname: &str) -> PgProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let accept = {
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    if shared.down.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let (shared, socket) = (Arc::clone(&shared), socket.clone());
                    tokio::spawn(async move {
                        if let Ok(server) = UnixStream::connect(&socket).await {
                            let _ = relay(client, server, shared).await;
                        }
                    });
                }
            })
        };
        PgProxy {
            url: format!("postgres://{user}@127.0.0.1:{port}/{dbname}?sslmode=disable"),
            shared,
            accept,
        }
    }

    /// The next COMMIT of a transaction that inserted into `messages` reaches PostgreSQL, and
    /// its answer is dropped with the connection.
    pub fn lose_next_message_commit_answer(&self) {
        self.shared.armed.store(true, Ordering::SeqCst);
    }

    /// As `lose_next_message_commit_answer`, and the database then looks down (every retry
    /// fails) until `come_back`.
    pub fn lose_next_message_commit_answer_and_stay_down(&self) {
        self.shared.stay_down.store(true, Ordering::SeqCst);
        self.lose_next_message_commit_answer();
    }

    pub fn come_back(&self) {
        self.shared.down.store(false, Ordering::SeqCst);
    }

    pub fn answers_lost(&self) -> usize {
        self.shared.cuts.load(Ordering::SeqCst)
    }
}

impl Drop for PgProxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

async fn relay(
    mut client: TcpStream,
    server: UnixStream,
    shared: Arc<Shared>,
) -> std::io::Result<()> {
    // The startup packet has no type byte; an SSL/GSS request before it is declined here.
    let startup = loop {
        let len = client.read_i32().await?;
        let mut body = vec![0; (len as usize).saturating_sub(4)];
        client.read_exact(&mut body).await?;
        let code = body
            .get(..4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        if len == 8 && matches!(code, Some(SSL_REQUEST | GSSENC_REQUEST)) {
            client.write_all(b"N").await?;
            continue;
        }
        let mut packet = len.to_be_bytes().to_vec();
        packet.extend_from_slice(&body);
        break packet;
    };
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    to_server.write_all(&startup).await?;

    // Set by the client side when it forwarded the COMMIT to cut: the server side drops that
    // COMMIT's answer and ends the connection.
    let cutting = Arc::new(AtomicBool::new(false));
    let upstream = {
        let (cutting, shared) = (Arc::clone(&cutting), Arc::clone(&shared));
        async move {
            let mut inserting: HashSet<Vec<u8>> = HashSet::new();
            let mut inserted = false;
            loop {
                let (kind, body) = read_message(&mut from_client).await?;
                if shared.down.load(Ordering::SeqCst) {
                    return Ok(());
                }
                match kind {
                    b'P' => {
                        let mut parts = body.split(|&b| b == 0);
                        let name = parts.next().unwrap_or_default().to_vec();
                        let sql = parts.next().unwrap_or_default();
                        if inserts_message(sql) {
                            inserting.insert(name);
                        } else {
                            inserting.remove(&name);
                        }
                    }
                    b'B' => {
                        let statement = body.split(|&b| b == 0).nth(1).unwrap_or_default();
                        inserted |= inserting.contains(statement);
                    }
                    b'Q' => {
                        let sql = String::from_utf8_lossy(&body).trim().to_ascii_uppercase();
                        inserted |= inserts_message(sql.as_bytes());
                        if sql.starts_with("COMMIT") || sql.starts_with("ROLLBACK") {
                            if sql.starts_with("COMMIT")
                                && inserted
                                && shared.armed.swap(false, Ordering::SeqCst)
                            {
                                cutting.store(true, Ordering::SeqCst);
                            }
                            inserted = false;
                        }
                    }
                    _ => {}
                }
                let mut packet = vec![kind];
                packet.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
                packet.extend_from_slice(&body);
                to_server.write_all(&packet).await?;
            }
            #[allow(unreachable_code)]
            Ok::<(), std::io::Error>(())
        }
    };
    let downstream = async move {
        loop {
            let (kind, body) = read_message(&mut from_server).await?;
            if kind == b'C' && body.starts_with(b"COMMIT") && cutting.load(Ordering::SeqCst) {
                // Committed, and nobody will hear of it.
                if shared.stay_down.swap(false, Ordering::SeqCst) {
                    shared.down.store(true, Ordering::SeqCst);
                }
                shared.cuts.fetch_add(1, Ordering::SeqCst);
                return Ok::<(), std::io::Error>(());
            }
            let mut packet = vec![kind];
            packet.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
            packet.extend_from_slice(&body);
            to_client.write_all(&packet).await?;
        }
    };
    // Whichever side ends first ends both: dropping the halves closes the sockets.
    tokio::select! {
        r = upstream => r,
        r = downstream => r,
    }
}

fn inserts_message(sql: &[u8]) -> bool {
    let sql = String::from_utf8_lossy(sql).to_ascii_uppercase();
    sql.contains("INSERT INTO \"MESSAGES\"") || sql.contains("INSERT INTO MESSAGES")
}

async fn read_message(r: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<(u8, Vec<u8>)> {
    let kind = r.read_u8().await?;
    let len = r.read_i32().await?;
    let mut body = vec![0; (len as usize).saturating_sub(4)];
    r.read_exact(&mut body).await?;
    Ok((kind, body))
}

impl PgProxy {
    /// A fresh test database on the shared cluster, reached through a proxy.
    pub async fn for_fresh_database() -> PgProxy {
        let url = super::fresh_database().await;
        let dbname = url.rsplit('/').next().unwrap().to_owned();
        let socket =
            tokio::task::spawn_blocking(|| super::shared().pg.lock().unwrap().socket_path())
                .await
                .unwrap();
        PgProxy::start(socket, "switchboard", &dbname).await
    }
}
