use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use perepiska::config::{Settings, load_channels};
use perepiska::domain::Access;

#[derive(Parser)]
#[command(
    name = "perepiska",
    version,
    about = "Omnichannel inbox: messengers and a site chat in one console"
)]
struct Cli {
    #[command(flatten)]
    opts: Opts,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Args, Clone)]
struct Opts {
    /// Address to listen on.
    #[arg(
        long,
        env = "PEREPISKA_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    bind: String,
    /// Where the SQLite database and attachments live.
    #[arg(
        long,
        env = "PEREPISKA_DATA_DIR",
        default_value = "data",
        global = true
    )]
    data_dir: PathBuf,
    /// postgres://… to use PostgreSQL instead of the embedded SQLite.
    #[arg(long, env = "DATABASE_URL", global = true)]
    database_url: Option<String>,
    /// redis://… so that several instances share live events (with PostgreSQL).
    #[arg(long, env = "REDIS_URL", global = true)]
    redis_url: Option<String>,
    /// Channels declared as a file; a missing file means none.
    #[arg(
        long,
        env = "PEREPISKA_CHANNELS",
        default_value = "channels.toml",
        global = true
    )]
    channels: PathBuf,
    /// The public https URL of this server (webhook registration, links in notifications).
    #[arg(long, env = "PEREPISKA_PUBLIC_URL", global = true)]
    public_url: Option<String>,
    /// Largest attachment accepted, in megabytes.
    #[arg(
        long,
        env = "PEREPISKA_MAX_ATTACHMENT_MB",
        default_value_t = 20,
        global = true
    )]
    max_attachment_mb: u64,
    /// First delay between delivery retries, in milliseconds (doubles each attempt).
    #[arg(
        long,
        env = "PEREPISKA_OUTBOX_BACKOFF_MS",
        default_value_t = 2000,
        global = true
    )]
    outbox_backoff_ms: u64,
    /// HTTP worker threads (0 = one per core).
    #[arg(long, env = "PEREPISKA_WORKERS", default_value_t = 0, global = true)]
    workers: usize,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage users.
    Admin {
        #[command(subcommand)]
        cmd: AdminCmd,
    },
    /// Manage REST API tokens.
    Token {
        #[command(subcommand)]
        cmd: TokenCmd,
    },
    /// Channel operations.
    Channels {
        #[command(subcommand)]
        cmd: ChannelsCmd,
    },
    /// Manage projects (one business each, with its own team, channels and data).
    Project {
        #[command(subcommand)]
        cmd: ProjectCmd,
    },
    /// Manage teams (groups of operators a conversation can be routed to).
    Team {
        #[command(subcommand)]
        cmd: TeamCmd,
    },
    /// Write a consistent copy of the SQLite database and every attachment to one file,
    /// while the server runs (PostgreSQL: pg_dump, see the README).
    Backup {
        #[arg(long)]
        to: PathBuf,
    },
    /// Unpack a backup into the data dir (the server must be stopped).
    Restore {
        #[arg(long)]
        from: PathBuf,
        /// Replace a database that is already there.
        #[arg(long)]
        force: bool,
    },
    /// Fill a project with realistic conversations for benchmarks and demos (refuses a
    /// project that already has conversations unless --force).
    Seed {
        #[arg(long, default_value_t = 1000)]
        conversations: i64,
        #[arg(long, default_value_t = 3)]
        messages_per_conversation: i64,
        /// How many of the newest conversations are still open, each with a pending
        /// auto-close timer (default: one in two hundred, at least 50).
        #[arg(long)]
        open_conversations: Option<i64>,
        /// How many of those auto-close timers are already due (for benchmarks).
        #[arg(long, default_value_t = 0)]
        due_auto_close: i64,
        /// Project slug; the first project when absent.
        #[arg(long)]
        project: Option<String>,
        /// Add to a project that already has conversations.
        #[arg(long)]
        force: bool,
    },
    /// Validate channels.toml and the settings, then exit.
    CheckConfig {
        /// Also ask each platform who the credentials belong to (e.g. Telegram getMe).
        #[arg(long)]
        online: bool,
    },
}

#[derive(Subcommand)]
enum ChannelsCmd {
    /// Register this server's webhook with the platform (OK, Avito); needs PEREPISKA_PUBLIC_URL.
    Subscribe {
        /// The channel's id in channels.toml.
        id: String,
    },
}

#[derive(Subcommand)]
enum ProjectCmd {
    /// Create a project; add people to it with `admin create --project SLUG`.
    Create {
        /// Short id used on the command line and in channels.toml (`project = "…"`).
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// IANA time zone for schedules and the times the console shows.
        #[arg(long, default_value = "Europe/Moscow")]
        timezone: String,
    },
}

#[derive(Subcommand)]
enum TeamCmd {
    /// Create a team in a project.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        project: Option<String>,
    },
}

#[derive(Subcommand)]
enum AdminCmd {
    /// Create a user (or reset an existing one's password) with a role in a project.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
        /// Access levels, comma-separated: admin, settings (every setting, no dialogs),
        /// analytics (reports, reading dialogs) and operator (answers dialogs).
        #[arg(long, default_value = "admin")]
        role: String,
        #[arg(long)]
        name: Option<String>,
        /// Project slug; the first project when absent.
        #[arg(long)]
        project: Option<String>,
        /// Make them an owner of the server: they create projects from the console.
        #[arg(long)]
        owner: bool,
    },
    /// Set a member's forgotten password; they are signed out everywhere.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long)]
        password: String,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Print a new API token for a user.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        project: Option<String>,
    },
}

fn env_number(name: &str) -> Option<u32> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn settings(o: &Opts) -> Settings {
    Settings {
        bind: o.bind.clone(),
        data_dir: o.data_dir.clone(),
        database_url: o.database_url.clone().filter(|u| !u.is_empty()),
        redis_url: o.redis_url.clone().filter(|u| !u.is_empty()),
        channels_path: o.channels.clone(),
        public_url: o.public_url.clone(),
        admin_email: std::env::var("PEREPISKA_ADMIN_EMAIL")
            .ok()
            .filter(|s| !s.is_empty()),
        admin_password: std::env::var("PEREPISKA_ADMIN_PASSWORD")
            .ok()
            .filter(|s| !s.is_empty()),
        max_attachment_bytes: o.max_attachment_mb.max(1) * 1024 * 1024,
        outbox_backoff: Duration::from_millis(o.outbox_backoff_ms.max(1)),
        secure_cookies: o
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://")),
        workers: o.workers,
        allow_private_targets: std::env::var("PEREPISKA_ALLOW_PRIVATE_TARGETS")
            .is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true")),
        trusted_proxies: std::env::var("PEREPISKA_TRUSTED_PROXIES")
            .unwrap_or_default()
            .split(',')
            .filter_map(|a| a.trim().parse().ok())
            .collect(),
        metrics_token: std::env::var("PEREPISKA_METRICS_TOKEN")
            .ok()
            .filter(|s| !s.trim().is_empty()),
        secret_key: std::env::var("PEREPISKA_SECRET_KEY")
            .ok()
            .filter(|s| !s.trim().is_empty()),
        smtp_url: std::env::var("PEREPISKA_SMTP_URL")
            .ok()
            .filter(|s| !s.trim().is_empty()),
        smtp_from: std::env::var("PEREPISKA_SMTP_FROM")
            .ok()
            .filter(|s| !s.trim().is_empty()),
        rate_per_visitor: env_number("PEREPISKA_RATE_PER_VISITOR")
            .unwrap_or(Settings::default().rate_per_visitor),
        rate_per_address: env_number("PEREPISKA_RATE_PER_ADDRESS")
            .unwrap_or(Settings::default().rate_per_address),
        ..Settings::default()
    }
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,actix_server=warn".into()),
        )
        .init();
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Ok(list) = std::env::var("PEREPISKA_TRUSTED_PROXIES") {
        for a in list.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            if a.parse::<std::net::IpAddr>().is_err() {
                anyhow::bail!("PEREPISKA_TRUSTED_PROXIES: \"{a}\" is not an IP address");
            }
        }
    }
    let s = settings(&cli.opts);
    match cli.cmd.unwrap_or(Cmd::Serve) {
        Cmd::Serve => {
            let running = perepiska::start(s).await?;
            if let Some(n) = &running.admin_notice {
                println!("{n}");
            }
            println!("perepiska is listening on {}", running.url);
            println!("  console:   {}/console", running.url);
            println!("  demo page: {}/demo", running.url);
            running.wait().await;
        }
        Cmd::Backup { to } => {
            let url = perepiska::store::database_url(s.database_url.as_deref(), &s.data_dir);
            let done = perepiska::backup::backup(&url, &s.data_dir, &to)?;
            println!(
                "backup written to {}: the database and {} attachments, {} bytes",
                to.display(),
                done.files,
                done.bytes
            );
        }
        Cmd::Restore { from, force } => {
            if s.database_url.is_some() {
                anyhow::bail!(
                    "restore is for SQLite; on PostgreSQL use pg_restore (see the README)"
                );
            }
            let done = perepiska::backup::restore(&from, &s.data_dir, force)?;
            println!(
                "restored into {}: the database and {} attachments",
                s.data_dir.display(),
                done.files
            );
        }
        Cmd::Seed {
            conversations,
            messages_per_conversation,
            open_conversations,
            due_auto_close,
            project,
            force,
        } => {
            let store = perepiska::bootstrap::open_store(&s)?;
            let started = std::time::Instant::now();
            let (project, messages) = perepiska::bootstrap::seed(
                &store,
                perepiska::bootstrap::SeedOptions {
                    project,
                    conversations,
                    messages_per_conversation,
                    open: open_conversations,
                    due: due_auto_close,
                    force,
                },
                |done| {
                    if done % 100_000 == 0 || done == conversations {
                        eprintln!("  {done} conversations");
                    }
                },
            )
            .await?;
            println!(
                "seeded project \"{}\": {conversations} conversations, {messages} messages in {:.1} s",
                project.slug,
                started.elapsed().as_secs_f64()
            );
        }
        Cmd::Migrate => {
            perepiska::bootstrap::open_store(&s)?;
            println!("database is up to date");
        }
        Cmd::CheckConfig { online } => {
            let decls = load_channels(&s.channels_path)?;
            println!(
                "{}: {} channel(s) OK",
                s.channels_path.display(),
                decls.len()
            );
            let http = perepiska::bootstrap::http_client()?;
            let mut all_found = true;
            for d in decls {
                if !online {
                    println!("  {} ({}): {}", d.id, d.kind, d.name);
                    continue;
                }
                let adapter =
                    perepiska::inbox::registry::build_adapter(d.kind, &d.name, &d.config, &http)
                        .map_err(|e| anyhow::anyhow!("channel \"{}\": {e}", d.id))?;
                match adapter.identity().await {
                    Ok(me) => println!("  {} ({}): {} — {}", d.id, d.kind, d.name, me.name),
                    Err(e) => {
                        all_found = false;
                        println!("  {} ({}): {} — not found ({e})", d.id, d.kind, d.name);
                    }
                }
            }
            let integrations =
                perepiska::config::load_integrations(&s.channels_path, s.allow_private_targets)?;
            if !integrations.is_empty() {
                println!("{} integration(s) OK", integrations.len());
            }
            let downloads = perepiska::channels::download::Downloader::new(
                s.allow_private_targets,
                s.max_attachment_bytes,
            )
            .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))?;
            for i in integrations {
                let d = i.declared;
                if !online {
                    println!("  {} ({}): {}", d.key, d.kind, d.name);
                    continue;
                }
                let settings = perepiska::integrations::Settings::from_config(
                    d.kind,
                    &d.config,
                    s.allow_private_targets,
                )
                .map_err(|e| anyhow::anyhow!("integration \"{}\": {e}", d.key))?;
                match settings.check(&downloads).await {
                    Ok(Some(me)) => println!("  {} ({}): {} — {me}", d.key, d.kind, d.name),
                    Ok(None) => println!("  {} ({}): {}", d.key, d.kind, d.name),
                    Err(e) => {
                        all_found = false;
                        println!("  {} ({}): {} — refused ({e})", d.key, d.kind, d.name);
                    }
                }
            }
            if !all_found {
                anyhow::bail!(
                    "some channels or integrations could not be reached with their credentials"
                );
            }
        }
        Cmd::Admin {
            cmd:
                AdminCmd::Create {
                    email,
                    password,
                    role,
                    name,
                    project,
                    owner,
                },
        } => {
            let role = Access::parse(&role)?;
            let store = perepiska::bootstrap::open_store(&s)?;
            let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or("").to_string());
            let user = store
                .write(move |c| {
                    let p = perepiska::bootstrap::project_for(c, project.as_deref())?;
                    let u =
                        perepiska::bootstrap::create_user(c, &email, &name, &password, role, p.id)?;
                    if owner {
                        perepiska::store::users::set_owner(c, u.id, true)?;
                    }
                    Ok((u, p))
                })
                .await?;
            println!(
                "{} is {} in project \"{}\"",
                user.0.email,
                role.as_stored(),
                user.1.slug
            );
        }
        Cmd::Admin {
            cmd: AdminCmd::ResetPassword { email, password },
        } => {
            let store = perepiska::bootstrap::open_store(&s)?;
            let user = store
                .write(move |c| perepiska::bootstrap::reset_password(c, &email, &password))
                .await?;
            println!("{}: new password set, signed out everywhere", user.email);
        }
        Cmd::Channels {
            cmd: ChannelsCmd::Subscribe { id },
        } => {
            let decls = load_channels(&s.channels_path)?;
            let d = decls.iter().find(|d| d.id == id).ok_or_else(|| {
                anyhow::anyhow!("no channel \"{id}\" in {}", s.channels_path.display())
            })?;
            let base = s
                .public_url
                .as_deref()
                .ok_or_else(|| anyhow::anyhow!("set PEREPISKA_PUBLIC_URL (or --public-url): the https address the platform will call"))?;
            let adapter = perepiska::inbox::registry::build_adapter(
                d.kind,
                &d.name,
                &d.config,
                &perepiska::bootstrap::http_client()?,
            )
            .map_err(|e| anyhow::anyhow!("channel \"{id}\": {e}"))?;
            let url = format!(
                "{}{}",
                base.trim_end_matches('/'),
                adapter.webhook_path(&d.id)
            );
            adapter
                .subscribe(&url)
                .await
                .map_err(|e| anyhow::anyhow!("channel \"{id}\": subscription failed: {e}"))?;
            println!("channel \"{id}\" is subscribed: the platform now calls this server");
        }
        Cmd::Project {
            cmd:
                ProjectCmd::Create {
                    slug,
                    name,
                    timezone,
                },
        } => {
            let store = perepiska::bootstrap::open_store(&s)?;
            let p = store
                .write(move |c| perepiska::bootstrap::create_project(c, &slug, &name, &timezone))
                .await?;
            println!("project \"{}\" ({}) created", p.slug, p.name);
        }
        Cmd::Team {
            cmd: TeamCmd::Create { name, project },
        } => {
            let store = perepiska::bootstrap::open_store(&s)?;
            let team = store
                .write(move |c| {
                    let p = perepiska::bootstrap::project_for(c, project.as_deref())?;
                    perepiska::store::teams::create(c, p.id, &name)
                })
                .await?;
            println!("team \"{}\" created (id {})", team.name, team.id);
        }
        Cmd::Token {
            cmd: TokenCmd::Create { email, project },
        } => {
            let store = perepiska::bootstrap::open_store(&s)?;
            let token = store
                .write(move |c| perepiska::bootstrap::create_token(c, &email, project.as_deref()))
                .await?;
            println!("{token}");
        }
    }
    Ok(())
}
