use clap::Parser;
use std::io::Write;
use std::process::ExitCode;
use switchboard::config::{Cli, Command, Config, DbArgs};
use switchboard::db::embedded::{Cluster, EmbeddedPostgres};
use switchboard::domain::{auth, bootstrap, projects};
use switchboard::secrets::SecretBox;
use switchboard::{app, db};

/// jemalloc instead of glibc's malloc: glibc kept the memory of closed sockets (10,000 idle
/// visitors connecting and leaving three times left RSS 377 % above the start, all of it freed
/// inside the process but never returned); jemalloc gives freed pages back.
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A background thread returns dirty pages after a second even when the server falls idle
/// (without it pages are purged only on later allocations).
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:1000\0";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new("info,switchboard::http=warn")
            }),
        )
        .init();
    let cli = Cli::parse();
    let result = actix::System::new().block_on(run(cli));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => {
            args.validate()?;
            let (url, embedded) = database(&args.db, Use::Serve).await?;
            std::fs::create_dir_all(&args.db.data_dir).map_err(|e| {
                format!(
                    "cannot create --data-dir {}: {e}",
                    args.db.data_dir.display()
                )
            })?;
            let secrets = SecretBox::load(args.secret_key.as_deref(), &args.db.data_dir)?;
            let config = Config::new(&args, url, secrets);
            let public_url = config.public_url.clone();
            let started = app::start(config.clone()).await?;
            let first = {
                let pool = db::build_pool(&config.database_url, 4)?;
                let mut conn = pool.get().await.map_err(|e| format!("database: {e}"))?;
                bootstrap::ensure_first_owner(&mut conn)
                    .await
                    .map_err(|e| e.to_string())?
            };
            println!(
                "Switchboard is running at {public_url} (listening on {})",
                started.addr
            );
            if let Some(f) = first {
                println!("First start: an owner account was created. Log in with");
                println!("  e-mail:   {}", f.email);
                println!("  password: {}", f.password);
                println!(
                    "(shown once; change it with `switchboard reset-password --email {}`)",
                    f.email
                );
                if let Some(key) = &f.channel.widget_key {
                    println!("Demo widget key: {key}");
                }
            }
            let _ = std::io::stdout().flush();
            let res = started.run().await.map_err(|e| e.to_string());
            if let Some(mut pg) = embedded {
                let _ = tokio::task::spawn_blocking(move || pg.stop()).await;
            }
            res
        }
        Command::Migrate(dbargs) => {
            let (url, _pg) = database(&dbargs, Use::Admin).await?;
            let applied = db::run_migrations(&url).await?;
            println!("{} migration(s) applied", applied.len());
            Ok(())
        }
        Command::CreateOwner {
            db: dbargs,
            email,
            password,
            name,
        } => {
            let (url, _pg) = database(&dbargs, Use::Admin).await?;
            db::run_migrations(&url).await?;
            let password = match password {
                Some(p) => p,
                None => read_password()?,
            };
            let pool = db::build_pool(&url, 4)?;
            let mut conn = pool.get().await.map_err(|e| format!("database: {e}"))?;
            let user = projects::create_user(&mut conn, &email, &name, &password)
                .await
                .map_err(|e| e.message)?;
            let project = projects::create_project(&mut conn, "My project", user.id)
                .await
                .map_err(|e| e.message)?;
            projects::create_web_channel(&mut conn, project.id, "Website")
                .await
                .map_err(|e| e.message)?;
            println!(
                "owner {} created with project {} ({})",
                user.email, project.name, project.id
            );
            Ok(())
        }
        Command::ResetPassword {
            db: dbargs,
            email,
            password,
        } => {
            let (url, _pg) = database(&dbargs, Use::Admin).await?;
            let pool = db::build_pool(&url, 4)?;
            let mut conn = pool.get().await.map_err(|e| format!("database: {e}"))?;
            let user = db::users::find_by_email(&mut conn, &email)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no account with e-mail {email}"))?;
            let generated = password.is_none();
            let password = password.unwrap_or_else(auth::random_password);
            let hash = auth::hash_password(&password).map_err(|e| e.message)?;
            db::users::set_password(&mut conn, user.id, &hash)
                .await
                .map_err(|e| e.to_string())?;
            db::users::delete_cookie_tokens(&mut conn, user.id)
                .await
                .map_err(|e| e.to_string())?;
            if generated {
                println!("new password for {}: {password}", user.email);
            } else {
                println!("password of {} changed", user.email);
            }
            Ok(())
        }
    }
}

fn read_password() -> Result<String, String> {
    eprint!("password: ");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Who needs the embedded cluster: a server must own it (it stops it on exit); an admin
/// command may use the running server's, so nobody has to stop the service to, say, reset a
/// forgotten password.
#[derive(Clone, Copy)]
enum Use {
    Serve,
    Admin,
}

/// The database URL to use, starting the embedded cluster when DATABASE_URL is not set (for an
/// admin command, only when no server runs it). The cluster, when we started it, stops on drop.
async fn database(args: &DbArgs, by: Use) -> Result<(String, Option<EmbeddedPostgres>), String> {
    if let Some(url) = &args.database_url {
        return Ok((url.clone(), None));
    }
    let data_dir = args.data_dir.clone();
    std::fs::create_dir_all(&data_dir)
        .map_err(|e| format!("cannot create --data-dir {}: {e}", data_dir.display()))?;
    let dir = data_dir.join("postgres");
    let cluster = tokio::task::spawn_blocking(move || match by {
        Use::Serve => match EmbeddedPostgres::attach(&dir, DBNAME)? {
            Some(running) => Ok(Cluster::Attached(running)),
            None => EmbeddedPostgres::start(&dir, DBNAME).map(Cluster::Started),
        },
        Use::Admin => EmbeddedPostgres::attach_or_start(&dir, DBNAME),
    })
    .await
    .map_err(|e| e.to_string())?
    .map_err(|e| e.to_string())?;
    match (cluster, by) {
        (Cluster::Started(pg), _) => Ok((pg.url(), Some(pg))),
        (Cluster::Attached(running), Use::Serve) => Err(format!(
            "a server is already running on --data-dir {} (its PostgreSQL is pid {}); stop it first or choose another --data-dir",
            data_dir.display(),
            running.pid()
        )),
        (Cluster::Attached(running), Use::Admin) => {
            println!(
                "using the database of the running server (--data-dir {})",
                data_dir.display()
            );
            Ok((running.url().to_owned(), None))
        }
    }
}

/// The database that servers and admin commands use in the embedded cluster.
const DBNAME: &str = "switchboard";
