//! Start-up and admin commands: open and migrate the database, apply channels.toml, make sure
//! a fresh install has a project, a widget and an admin.

use std::sync::Arc;

use crate::config::{Settings, load_automation, load_channels};
use crate::crypto;
use crate::domain::{Access, ChannelKind, ChannelSource, Role};
use crate::error::{Error, Result};
use crate::inbox::Registry;
use crate::store::{self, Store, channels, members, projects, teams, users};

pub struct Boot {
    pub store: Store,
    pub registry: Arc<Registry>,
    pub admin_notice: Option<String>,
}

pub fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&settings.data_dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot create data dir {}: {e}",
            settings.data_dir.display()
        )
    })?;
    let url = store::database_url(settings.database_url.as_deref(), &settings.data_dir);
    Ok(Store::open(&url)?)
}

pub async fn prepare(settings: &Settings) -> anyhow::Result<Boot> {
    // Validate the file before touching the database: a wrong file stops start-up.
    let decls = load_channels(&settings.channels_path)?;
    let file_auto = load_automation(&settings.channels_path)?;
    let file_integrations =
        crate::config::load_integrations(&settings.channels_path, settings.allow_private_targets)?;
    let allow_private = settings.allow_private_targets;
    let store = open_store(settings)?;
    let key = secret_key(settings, &store).await?;
    let seal = key.clone();
    let (admin_email, admin_password) = (
        settings.admin_email.clone(),
        settings.admin_password.clone(),
    );
    let (admin_notice, channels) = store
        .write(move |conn| {
            let default = projects::ensure_default(conn)?;
            let mut keep = Vec::new();
            for d in &decls {
                let project = match &d.project {
                    Some(slug) => projects::by_slug(conn, slug)?.ok_or_else(|| {
                        Error::invalid(format!(
                            "channel \"{}\": project \"{slug}\" does not exist",
                            d.id
                        ))
                    })?,
                    None => default.clone(),
                };
                let sealed = seal.seal(&d.config.to_string())?;
                let ch = channels::upsert(
                    conn,
                    project.id,
                    &d.id,
                    d.kind,
                    &d.name,
                    &sealed,
                    ChannelSource::File,
                )?;
                let team = match &d.team {
                    Some(name) => Some(
                        teams::of_project(conn, project.id)?
                            .into_iter()
                            .find(|t| t.name == *name)
                            .ok_or_else(|| {
                                Error::invalid(format!(
                                    "channel \"{}\": team \"{name}\" does not exist in project \"{}\" (create it with `perepiska team create`)",
                                    d.id, project.slug
                                ))
                            })?
                            .id,
                    ),
                    None => None,
                };
                channels::set_default_team(conn, ch.id, team)?;
                keep.push(d.id.clone());
            }
            channels::disable_file_channels_except(conn, &keep)?;
            if file_auto.schedule.is_some()
                || file_auto.alerts.is_some()
                || file_auto.reports.is_some()
            {
                let project = match &file_auto.project {
                    Some(slug) => projects::by_slug(conn, slug)?.ok_or_else(|| {
                        Error::invalid(format!("schedule: project \"{slug}\" does not exist"))
                    })?,
                    None => default.clone(),
                };
                apply_file_automation(conn, project.id, &file_auto)?;
            }
            let has_widget = channels::of_project(conn, default.id)?
                .iter()
                .any(|c| c.kind == crate::domain::ChannelKind::Widget);
            if !has_widget {
                channels::upsert(
                    conn,
                    default.id,
                    "web",
                    ChannelKind::Widget,
                    "Сайт",
                    &seal.seal("{}")?,
                    ChannelSource::Builtin,
                )?;
            }
            // After the channels (the widget too): an integration may name the ones it applies to.
            let mut kept = Vec::new();
            for d in &file_integrations {
                let project = match &d.project {
                    Some(slug) => projects::by_slug(conn, slug)?.ok_or_else(|| {
                        Error::invalid(format!(
                            "integration \"{}\": project \"{slug}\" does not exist",
                            d.declared.key
                        ))
                    })?,
                    None => default.clone(),
                };
                let (i, _) = crate::integrations::apply(
                    conn,
                    &seal,
                    project.id,
                    ChannelSource::File,
                    &d.declared,
                    allow_private,
                    store::now(),
                )
                .map_err(|e| {
                    Error::invalid(format!("integration \"{}\": {e}", d.declared.key))
                })?;
                kept.push(i.id);
            }
            crate::store::integrations::disable_file_integrations_except(conn, &kept)?;
            let notice = if users::count(conn)? == 0 {
                let email = admin_email.unwrap_or_else(|| "admin@localhost.localdomain".into());
                let (password, generated) = match admin_password {
                    Some(p) if !p.is_empty() => (p, false),
                    _ => (crypto::random_hex(9)?, true),
                };
                let first = create_user(
                    conn,
                    &email,
                    "Admin",
                    &password,
                    Access::of(&[Role::Admin]),
                    default.id,
                )?;
                // The first admin owns the server: they create its other projects.
                users::set_owner(conn, first.id, true)?;
                Some(if generated {
                    format!("Created the first admin: {email} / password {password} (shown once; change it with `perepiska admin create`)")
                } else {
                    format!("Created the first admin: {email}")
                })
            } else {
                None
            };
            Ok((notice, channels::all_enabled(conn)?))
        })
        .await?;
    let registry = Arc::new(Registry::new(http_client()?, key));
    registry.load(channels);
    Ok(Boot {
        store,
        registry,
        admin_notice,
    })
}

/// The key for stored secrets: PEREPISKA_SECRET_KEY, else `<data dir>/secret.key`, created on
/// first start. Every stored config must open with it (a lost or wrong key stops start-up with
/// what to do, instead of channels failing one by one); configs stored before sealing are
/// sealed now.
async fn secret_key(settings: &Settings, store: &Store) -> anyhow::Result<crypto::SecretKey> {
    let file = settings.data_dir.join(crypto::SECRET_KEY_FILE);
    let key = match &settings.secret_key {
        Some(hex) => crypto::SecretKey::from_hex(hex)
            .map_err(|e| anyhow::anyhow!("PEREPISKA_SECRET_KEY: {e}"))?,
        None if file.exists() => {
            let hex = std::fs::read_to_string(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            crypto::SecretKey::from_hex(&hex)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
        }
        None => {
            let stored = store.read(channels::configs).await?;
            if let Some((_, key, _)) = stored
                .iter()
                .find(|(_, _, c)| crypto::SecretKey::is_sealed(c))
            {
                anyhow::bail!(
                    "channel \"{key}\" has sealed settings but there is no secret key: put back {} (or set PEREPISKA_SECRET_KEY) from where this database came from",
                    file.display()
                );
            }
            let k = crypto::SecretKey::generate()?;
            write_key_file(&file, &k)?;
            tracing::info!(file = %file.display(), "created the key for stored secrets; back it up with the database");
            k
        }
    };
    let check = key.clone();
    store
        .write(move |conn| {
            for (id, name, config) in channels::configs(conn)? {
                let plain = check.open(&config).map_err(|_| {
                    Error::invalid(format!(
                        "channel \"{name}\": its stored settings do not open with this secret key (PEREPISKA_SECRET_KEY or secret.key in the data dir); restore the key they were sealed with"
                    ))
                })?;
                if !crypto::SecretKey::is_sealed(&config) {
                    channels::set_config(conn, id, &check.seal(&plain)?)?;
                }
            }
            Ok(())
        })
        .await?;
    Ok(key)
}

fn write_key_file(path: &std::path::Path, key: &crypto::SecretKey) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    use std::io::Write;
    let mut f = opts
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    f.write_all(key.to_hex().as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// The file's schedule and alerts, unless the settings page has saved its own since.
fn apply_file_automation(
    conn: &mut store::DbConn,
    project_id: crate::domain::ProjectId,
    file: &crate::config::FileAutomation,
) -> Result<()> {
    use crate::store::project_settings;
    if project_settings::get(conn, project_id)?.is_some_and(|r| r.source == "web") {
        tracing::info!("schedule and alerts: keeping what the settings page saved");
        return Ok(());
    }
    let json = |v: Option<String>| v.filter(|s| s != "null");
    let schedule = json(serde_json::to_string(&file.schedule).ok());
    let alerts = json(serde_json::to_string(&file.alerts).ok());
    project_settings::save(
        conn,
        project_id,
        schedule.as_deref(),
        alerts.as_deref(),
        "file",
    )?;
    if let Some(r) = &file.reports {
        crate::inbox::reports::save_settings(conn, project_id, None, r, "file")?;
    }
    Ok(())
}

pub fn http_client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(60))
        .user_agent(concat!("perepiska/", env!("CARGO_PKG_VERSION")))
        .build()?)
}

pub fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < 8 {
        return Err(Error::invalid("the password must be at least 8 characters"));
    }
    Ok(())
}

/// A member changes their own password: the old one must be right and the new one typed twice
/// alike; every other session of theirs is signed out (a stolen one included).
pub fn change_password(
    conn: &mut store::DbConn,
    user_id: i64,
    current: &str,
    new: &str,
    repeated: &str,
    keep_session: i64,
) -> Result<usize> {
    let user = users::by_id(conn, user_id)?;
    if !crypto::verify_password(current, &user.password_hash) {
        return Err(Error::invalid("the current password is wrong"));
    }
    if new != repeated {
        return Err(Error::invalid("the new password and its repetition differ"));
    }
    check_password(new)?;
    users::set_password(conn, user_id, &crypto::hash_password(new)?)?;
    users::delete_sessions_except(conn, user_id, Some(keep_session))
}

/// An admin (or the server's owner at the command line) sets a forgotten password: the member
/// is signed out everywhere.
pub fn reset_password(
    conn: &mut store::DbConn,
    email: &str,
    password: &str,
) -> Result<users::User> {
    check_password(password)?;
    let email = users::normalize_email(email)?;
    let user = users::by_email(conn, &email)?
        .ok_or_else(|| Error::not_found(format!("no user {email}")))?;
    users::set_password(conn, user.id, &crypto::hash_password(password)?)?;
    users::delete_sessions_except(conn, user.id, None)?;
    Ok(user)
}

/// A member's display name, which customers see where the channel shows the operator's name.
pub fn rename_user(conn: &mut store::DbConn, user_id: i64, name: &str) -> Result<()> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("the name must be 1-100 characters"));
    }
    users::set_name(conn, user_id, name)
}

/// Creates a user (or gives an existing one these access levels) in a project.
pub fn create_user(
    conn: &mut store::DbConn,
    email: &str,
    name: &str,
    password: &str,
    access: Access,
    project_id: crate::domain::ProjectId,
) -> Result<users::User> {
    check_password(password)?;
    let hash = crypto::hash_password(password)?;
    let user = match users::by_email(conn, email)? {
        Some(u) => {
            users::set_password(conn, u.id, &hash)?;
            u
        }
        None => users::create(conn, email, name, &hash)?,
    };
    members::set_access(conn, project_id, user.id, access)?;
    Ok(user)
}

/// An admin renames the project or changes its time zone: the one its schedule uses too, so
/// the stored schedule follows.
pub fn edit_project(
    conn: &mut store::DbConn,
    project_id: crate::domain::ProjectId,
    by: i64,
    name: &str,
    timezone: &str,
) -> Result<projects::Project> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid(
            "the project's name must be 1-100 characters",
        ));
    }
    let timezone = timezone.trim();
    let before = projects::by_id(conn, project_id)?;
    let p = projects::update(conn, project_id, name, timezone)?;
    if let Some(row) = crate::store::project_settings::get(conn, project_id)?
        && let Some(schedule) = &row.schedule
        && let Ok(mut v) = serde_json::from_str::<serde_json::Value>(schedule)
        && v["timezone"] != timezone
    {
        v["timezone"] = serde_json::Value::String(timezone.to_string());
        crate::store::project_settings::save(
            conn,
            project_id,
            Some(&v.to_string()),
            row.alerts.as_deref(),
            "web",
        )?;
    }
    crate::store::audit::record(
        conn,
        project_id,
        Some(by),
        crate::domain::audit::Action::SettingsChanged,
        "project",
        &format!(
            "{} → {}; {} → {}",
            before.name, p.name, before.timezone, p.timezone
        ),
    )?;
    Ok(p)
}

/// A new project, with a chat widget of its own so it can be reached at once.
pub fn create_project(
    conn: &mut store::DbConn,
    slug: &str,
    name: &str,
    timezone: &str,
) -> Result<projects::Project> {
    let slug = slug.trim();
    let valid = (1..=40).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        return Err(Error::invalid(
            "slug must be 1-40 characters of a-z, 0-9 and '-'",
        ));
    }
    if projects::by_slug(conn, slug)?.is_some() {
        return Err(Error::Conflict(format!(
            "project \"{slug}\" already exists"
        )));
    }
    if name.trim().is_empty() {
        return Err(Error::invalid("name must not be empty"));
    }
    let p = projects::create(conn, slug, name.trim(), timezone)?;
    channels::upsert(
        conn,
        p.id,
        &format!("web-{slug}"),
        ChannelKind::Widget,
        name.trim(),
        "{}",
        ChannelSource::Builtin,
    )?;
    Ok(p)
}

/// Resolves a project by slug, or the first project.
pub fn project_for(conn: &mut store::DbConn, slug: Option<&str>) -> Result<projects::Project> {
    match slug {
        Some(s) => projects::by_slug(conn, s)?
            .ok_or_else(|| Error::not_found(format!("project \"{s}\" not found"))),
        None => projects::ensure_default(conn),
    }
}

/// Issues a REST API token for a user; only its hash is stored.
pub fn create_token(
    conn: &mut store::DbConn,
    email: &str,
    project: Option<&str>,
) -> Result<String> {
    let user = users::by_email(conn, email)?
        .ok_or_else(|| Error::not_found(format!("no user with email {email}")))?;
    let project = match project {
        Some(slug) => project_for(conn, Some(slug))?,
        // The user's first project, so a single-project user never has to name it.
        None => members::projects_of(conn, user.id)?
            .into_iter()
            .next()
            .map(|(p, _)| p)
            .ok_or_else(|| Error::forbidden(format!("{email} is not a member of any project")))?,
    };
    if members::access_in(conn, project.id, user.id)?.is_none() {
        return Err(Error::forbidden(format!(
            "{email} is not a member of project \"{}\"",
            project.slug
        )));
    }
    issue_token(conn, user.id, project.id, "cli")
}

/// A new API token acting as this member in this project: returned once, stored hashed.
pub fn issue_token(
    conn: &mut store::DbConn,
    user_id: i64,
    project_id: crate::domain::ProjectId,
    name: &str,
) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("a token's name must be 1-100 characters"));
    }
    let token = format!("ppk_{}", crypto::random_hex(24)?);
    users::create_api_token(
        conn,
        &crypto::sha256_hex(token.as_bytes()),
        user_id,
        project_id,
        name,
    )?;
    Ok(token)
}

/// What `perepiska seed` is asked for.
#[derive(Clone, Debug)]
pub struct SeedOptions {
    pub project: Option<String>,
    pub conversations: i64,
    pub messages_per_conversation: i64,
    /// Open conversations (the newest); None: one in two hundred, at least 50.
    pub open: Option<i64>,
    /// Open conversations whose auto-close timer is already due.
    pub due: i64,
    pub force: bool,
}

/// Fills a project with realistic conversations (see `store::seed`), chunk by chunk, each
/// chunk one transaction; `progress` hears the conversations written so far. Demo
/// operators and teams are added when the project has too few to spread the work over.
pub async fn seed(
    store: &Store,
    o: SeedOptions,
    progress: impl Fn(i64),
) -> Result<(projects::Project, i64)> {
    if !(1..=10_000_000).contains(&o.conversations) {
        return Err(Error::invalid(
            "--conversations must be between 1 and 10000000",
        ));
    }
    if !(1..=50).contains(&o.messages_per_conversation) {
        return Err(Error::invalid(
            "--messages-per-conversation must be between 1 and 50",
        ));
    }
    let slug = o.project.clone();
    let force = o.force;
    let operator_hash = crypto::hash_password(&crypto::random_hex(16)?)?;
    let (project, plan) = store
        .write(move |conn| {
            let project = project_for(conn, slug.as_deref())?;
            if !force && store::seed::has_conversations(conn, project.id)? {
                return Err(Error::Conflict(format!(
                    "project \"{}\" already has conversations: seed adds to them only with --force",
                    project.slug
                )));
            }
            let channels: Vec<_> = channels::of_project(conn, project.id)?
                .into_iter()
                .map(|c| c.id)
                .collect();
            if channels.is_empty() {
                return Err(Error::invalid(format!(
                    "project \"{}\" has no channels: start the server once (it adds the site widget) or declare some in channels.toml",
                    project.slug
                )));
            }
            let mut teams: Vec<i64> = teams::of_project(conn, project.id)?
                .into_iter()
                .map(|t| t.id)
                .collect();
            if teams.is_empty() {
                for name in ["Продажи", "Поддержка", "Доставка"] {
                    teams.push(teams::create(conn, project.id, name)?.id);
                }
            }
            let mut operators: Vec<i64> = members::members(conn, project.id)?
                .into_iter()
                .map(|u| u.id)
                .collect();
            for i in operators.len()..8 {
                let email = format!("operator{}.{}@seed.invalid", i + 1, project.slug);
                let user = match users::by_email(conn, &email)? {
                    Some(u) => u,
                    None => users::create(
                        conn,
                        &email,
                        &format!("Оператор {}", i + 1),
                        &operator_hash,
                    )?,
                };
                members::set_access(conn, project.id, user.id, Access::of(&[Role::Operator]))?;
                members::set_teams(conn, project.id, user.id, &[teams[i % teams.len()]])?;
                operators.push(user.id);
            }
            let plan = store::seed::Plan {
                project_id: project.id,
                total: o.conversations,
                messages_per_conversation: o.messages_per_conversation,
                channels,
                operators,
                teams,
                now: store::now(),
                open: o
                    .open
                    .unwrap_or((o.conversations / 200).max(o.conversations.min(50))),
                due: o.due,
            };
            Ok((project, plan))
        })
        .await?;
    let plan = Arc::new(plan);
    // PostgreSQL spends its time indexing (tsvector, GIN) in the server process: two
    // connections keep both cores busy. Ids and numbers come from sequences there, so
    // chunks may commit in any order. SQLite has one writer.
    let parallel = match store.backend {
        store::Backend::Postgres => 2,
        store::Backend::Sqlite => 1,
    };
    let mut done = 0;
    let mut messages = 0;
    while done < plan.total {
        let mut running = Vec::new();
        for _ in 0..parallel {
            if done >= plan.total {
                break;
            }
            let n = store::seed::CHUNK.min(plan.total - done);
            let (p, from, store) = (plan.clone(), done, store.clone());
            running.push(tokio::spawn(async move {
                store
                    .write(move |conn| store::seed::chunk(conn, &p, from, n))
                    .await
            }));
            done += n;
        }
        for r in running {
            messages += r
                .await
                .map_err(|e| Error::internal(format!("a seed chunk stopped: {e}")))??;
        }
        progress(done);
    }
    // In batches the size the server's indexer takes: a server beside the seed indexes the
    // same rows meanwhile, and neither holds the write lock for long.
    while store.write(|c| store::search::index_new(c, 5_000)).await? > 0 {}
    // The reports read the seeded years packed, as a server would have packed them.
    crate::inbox::reports::packing::Packer::alone()
        .run(store, store::now(), std::time::Duration::MAX)
        .await?;
    store.read(store::seed::analyze).await?;
    // Tidying only (everything is committed): a server running on the same file may be
    // checkpointing itself, and then this one gives up after the busy timeout.
    if let Err(e) = store.checkpoint().await {
        tracing::warn!(error = %e, "the write-ahead log was left for the server to copy");
    }
    Ok((project, messages))
}
