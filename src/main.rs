//! The `latchkey` binary: parse the command line, open the store, bootstrap, start the server
//! and the console. Errors end here as one line on stderr and exit code 2.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Parser;
use tokio_util::sync::CancellationToken;

use latchkey::blueprint::{self, ExportFilter};
use latchkey::cli::{ApplyArgs, Cli, Command, ExportArgs, GlobalArgs};
use latchkey::console::app::ServerMode;
use latchkey::console::{self, ConsoleContext};
use latchkey::context::local_actor;
use latchkey::context::{InstanceInfo, Registration, ServerInstance, SystemClock};
use latchkey::domain::actor::{ORIGIN_CLI, ORIGIN_CONSOLE};
use latchkey::http::{self, AppState};
use latchkey::logging;
use latchkey::service::Service;
use latchkey::service::bootstrap::{self, BootstrapOutcome};
use latchkey::store::{Store, StoreLocation};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("latchkey: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("latchkey: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn dispatch(cli: Cli) -> Result<()> {
    let command = cli.command();
    let global = cli.global;
    match command {
        Command::Run => run_console(global).await,
        Command::Serve => serve(global).await,
        Command::Console => attach_console(global).await,
        Command::Apply(args) => apply(global, args).await,
        Command::Export(args) => export(global, args).await,
        Command::User(cmd) => user_command(global, cmd).await,
        Command::Invitation(cmd) => invitation_command(global, cmd).await,
        Command::Store(cmd) => store_command(global, cmd).await,
        Command::Events(args) => events_command(global, args).await,
        Command::Login(args) => Ok(latchkey::client::login(&args).await?),
        Command::Token => Ok(latchkey::client::token().await?),
        Command::Logout => Ok(latchkey::client::logout().await?),
    }
}

fn store_location(global: &GlobalArgs) -> Result<StoreLocation> {
    match global.db.as_deref() {
        Some(db) => Ok(StoreLocation::parse(db)?),
        None => Ok(StoreLocation::default_file()),
    }
}

/// Everything started before the console or the wait for a signal.
struct Started {
    service: Service,
    public_url: String,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    registration: Registration,
    /// The initial-setup URL while akadmin has no usable password (shown until acknowledged).
    initial_setup_url: Option<String>,
}

impl Started {
    /// A clean stop: the server drains, this instance leaves the store's registry, the pool
    /// closes.
    async fn stop(self, cancel: &CancellationToken) {
        cancel.cancel();
        if let Err(e) = self.server.await {
            tracing::warn!(error = %e, "the server task ended abnormally");
        }
        self.registration.stop().await;
        self.service.store().close().await;
    }
}

async fn start(
    global: &GlobalArgs,
    cancel: &CancellationToken,
    command: Command,
) -> Result<Started> {
    let location = store_location(global)?;
    let store = Store::open_with(&location, global.store_options()).await?;
    let listener = match http::bind(&global.listen).await {
        Ok(l) => l,
        Err(e) => return Err(bind_failed(&store, &location, command, e).await),
    };
    let bound = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let public_url = global.public_url.clone().unwrap_or_else(|| {
        let scheme = if global.tls { "https" } else { "http" };
        format!("{scheme}://{bound}")
    });
    let service = Service::new(
        store.clone(),
        global.config(&public_url),
        Arc::new(SystemClock),
    );
    let (_, initial_setup_url) = bootstrap(&service).await?;
    if !global.blueprints.is_empty() {
        let sources = blueprint::read_sources(&global.blueprints)?;
        let report = service.apply_blueprints(&sources).await?;
        tracing::info!(%report, "applied --blueprint files");
    }
    let certificates = if global.tls {
        Some(http::tls::TlsCertificates::load(service.clone()).await?)
    } else {
        None
    };
    store.spawn_external_change_poller(cancel.clone());
    service.spawn_maintenance(
        global.maintenance_interval,
        latchkey::store::maintenance::Retention::default(),
        cancel.clone(),
    );
    service
        .spawn_notifier(
            latchkey::service::notify::NotifierSettings::default(),
            cancel.clone(),
        )
        .context("cannot start the notifier")?;
    let registration = service
        .context()
        .register_instance(
            InstanceInfo {
                public_url: service.context().public_url().to_string(),
                listen: bound.to_string(),
            },
            cancel,
        )
        .await
        .context("cannot record this server in the store")?;
    let state = AppState::new(service.clone());
    let server = match certificates {
        Some(certs) => {
            http::spawn_tls_server(listener, state, global.limits(), certs, cancel.clone())
        }
        None => http::spawn_server_with_limits(listener, state, global.limits(), cancel.clone()),
    };
    tracing::info!(%public_url, store = %location.display(), "server listening");
    Ok(Started {
        service,
        public_url,
        server,
        registration,
        initial_setup_url,
    })
}

/// Bootstraps an empty store (akadmin's password from `LATCHKEY_BOOTSTRAP_PASSWORD`, else
/// none): whether this created the instance, and the initial-setup URL while akadmin still
/// has no usable password.
async fn bootstrap(service: &Service) -> Result<(bool, Option<String>)> {
    let password = std::env::var("LATCHKEY_BOOTSTRAP_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    let created = matches!(
        service.bootstrap(password.as_deref()).await?,
        BootstrapOutcome::Created { .. }
    );
    let pending = service.initial_setup_pending().await?;
    let url = pending.then(|| bootstrap::initial_setup_url(service.context().public_url()));
    Ok((created, url))
}

/// The listener could not be bound: when a live latchkey already serves this store, say how to
/// reach it (its console) instead of only "address in use".
async fn bind_failed(
    store: &Store,
    location: &StoreLocation,
    command: Command,
    err: http::ServeError,
) -> anyhow::Error {
    let probe = latchkey::context::Context::new(
        store.clone(),
        latchkey::context::Config::new(""),
        Arc::new(SystemClock),
    );
    let live: Vec<ServerInstance> = match probe.server_instances().await {
        Ok(all) => all.into_iter().filter(ServerInstance::is_live).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the store's server registry");
            Vec::new()
        }
    };
    store.close().await;
    let Some(other) = live.first() else {
        return err.into();
    };
    let db = location.display();
    let who = format!(
        "latchkey {} (pid {} on {}, {}) already serves the store {db}",
        other.version, other.pid, other.host, other.public_url
    );
    match command {
        Command::Serve => anyhow::anyhow!(
            "{err}; {who}: pass --listen with another port to serve it twice, or stop that one"
        ),
        _ => anyhow::anyhow!(
            "{err}; {who}: open its console with `latchkey console --db {db}` (add --readonly to \
             look only)"
        ),
    }
}

/// Logs of a console go to a file (nothing may write over its screen) and to its ring.
fn console_logs(global: &GlobalArgs) -> Result<logging::LogRing> {
    let log_file = global
        .log_file
        .clone()
        .unwrap_or_else(logging::default_log_file);
    logging::init_file(&log_file).with_context(|| {
        format!(
            "cannot write the log file {}; pass --log-file",
            log_file.display()
        )
    })
}

async fn run_console(global: GlobalArgs) -> Result<()> {
    let logs = console_logs(&global)?;
    let cancel = CancellationToken::new();
    let started = start(&global, &cancel, Command::Run).await?;
    let ctx = ConsoleContext {
        service: started.service.acting_as(local_actor(ORIGIN_CONSOLE)),
        server_url: started.public_url.clone(),
        server: ServerMode::InProcess,
        store_path: store_location(&global)?.display(),
        readonly: global.readonly,
        theme: global.theme.clone(),
        logs,
        initial_setup_url: started.initial_setup_url.clone(),
    };
    let result = console::run(ctx, cancel.clone()).await;
    started.stop(&cancel).await;
    result.map_err(Into::into)
}

/// `latchkey console`: the console on the store a server in another process uses. Nothing is
/// bound or bootstrapped; an empty or missing store means no server ever ran on it.
async fn attach_console(global: GlobalArgs) -> Result<()> {
    let location = store_location(&global)?;
    let db = location.display();
    if location == StoreLocation::Memory {
        bail!(
            "`latchkey console` opens the store a running server uses, and no other \
             process can serve `:memory:`: use `latchkey run` for a throwaway instance"
        );
    }
    if let StoreLocation::File(path) = &location
        && !path.exists()
    {
        bail!(
            "there is no store at {db}: start `latchkey serve --db {db}` (or `latchkey run`) on \
             it first, or pass the --db a running server uses"
        );
    }
    let logs = console_logs(&global)?;
    let store = Store::open_with(&location, global.store_options()).await?;
    let clock = Arc::new(SystemClock);
    let probe = latchkey::context::Context::new(
        store.clone(),
        latchkey::context::Config::new(""),
        clock.clone(),
    );
    let instances = probe.server_instances().await?;
    let public_url = global
        .public_url
        .clone()
        .or_else(|| instances.first().map(|i| i.public_url.clone()))
        .unwrap_or_else(|| format!("http://{}", global.listen));
    let service = Service::new(store.clone(), global.config(&public_url), clock);
    if service.list_users().await?.is_empty() && service.list_brands().await?.is_empty() {
        store.close().await;
        bail!(
            "the store at {db} is empty: start `latchkey serve --db {db}` (or `latchkey run`) \
             on it first; the console administers an instance, it does not create one"
        );
    }
    let cancel = CancellationToken::new();
    store.spawn_external_change_poller(cancel.clone());
    tracing::info!(store = %db, servers = instances.len(), "console attached");
    let ctx = ConsoleContext {
        service: service.acting_as(local_actor(ORIGIN_CONSOLE)),
        server_url: global.public_url.clone().unwrap_or_default(),
        server: ServerMode::Elsewhere,
        store_path: db,
        readonly: global.readonly,
        theme: global.theme.clone(),
        logs,
        initial_setup_url: None,
    };
    let result = console::run(ctx, cancel.clone()).await;
    cancel.cancel();
    store.close().await;
    result.map_err(Into::into)
}

async fn serve(global: GlobalArgs) -> Result<()> {
    match &global.log_file {
        Some(path) => {
            logging::init_file(path).with_context(|| {
                format!(
                    "cannot write the log file {}; pass another --log-file",
                    path.display()
                )
            })?;
        }
        None => logging::init_stderr(),
    }
    let cancel = CancellationToken::new();
    let started = start(&global, &cancel, Command::Serve).await?;
    if let Some(url) = &started.initial_setup_url {
        eprintln!("latchkey: {}", initial_setup_line(url));
    }
    eprintln!("latchkey: serving on {}", started.public_url);
    shutdown_signal().await;
    tracing::info!("shutting down");
    started.stop(&cancel).await;
    Ok(())
}

/// Opens the store and bootstraps it when empty (so default flows exist for blueprints that
/// reference them), without starting the server.
async fn open_service(global: &GlobalArgs) -> Result<Service> {
    let store = Store::open_with(&store_location(global)?, global.store_options()).await?;
    let public_url = global
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", global.listen));
    let service = Service::new(store, global.config(&public_url), Arc::new(SystemClock));
    // Said once, by the command that created the instance; `serve` says it at every start.
    if let (true, Some(url)) = bootstrap(&service).await? {
        eprintln!("latchkey: {}", initial_setup_line(url.as_str()));
    }
    Ok(service.acting_as(local_actor(ORIGIN_CLI)))
}

/// What `serve` (and the commands that bootstrap a store) print while the setup is to do.
fn initial_setup_line(url: &str) -> String {
    format!(
        "akadmin has no password yet: open {url} to set its email and password (or set \
         LATCHKEY_BOOTSTRAP_PASSWORD before the first start)"
    )
}

async fn apply(global: GlobalArgs, args: ApplyArgs) -> Result<()> {
    let service = open_service(&global).await?;
    let sources = blueprint::read_sources(&args.files)?;
    let result = service.apply_blueprints(&sources).await;
    service.store().close().await;
    let report = result?;
    println!("{report}");
    Ok(())
}

async fn export(global: GlobalArgs, args: ExportArgs) -> Result<()> {
    let service = open_service(&global).await?;
    let filter = ExportFilter {
        model: args.model,
        name: args.name,
    };
    let result = service.export_blueprint(&filter).await;
    service.store().close().await;
    let text = result?;
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

async fn user_command(global: GlobalArgs, cmd: latchkey::cli::UserCommand) -> Result<()> {
    let store = Store::open_with(&store_location(&global)?, global.store_options()).await?;
    let public_url = global
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", global.listen));
    let service = Service::new(store, global.config(&public_url), Arc::new(SystemClock))
        .acting_as(local_actor(ORIGIN_CLI));
    let result = latchkey::cli_user::run(&service, cmd).await;
    service.store().close().await;
    let message = result?;
    eprintln!("latchkey: {message}");
    Ok(())
}

/// `latchkey invitation …`: the link (or the list) on stdout, a summary on stderr.
async fn invitation_command(
    global: GlobalArgs,
    cmd: latchkey::cli::InvitationCommand,
) -> Result<()> {
    let store = Store::open_with(&store_location(&global)?, global.store_options()).await?;
    let public_url = global
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", global.listen));
    let service = Service::new(store, global.config(&public_url), Arc::new(SystemClock))
        .acting_as(local_actor(ORIGIN_CLI));
    let result = latchkey::cli_invitation::run(&service, cmd).await;
    service.store().close().await;
    let out = result?;
    print!("{}", out.stdout);
    eprintln!("latchkey: {}", out.summary);
    Ok(())
}

/// `latchkey events`: the events on stdout, a summary on stderr. The store is only read, so a
/// missing file is an error rather than a new empty store.
async fn events_command(global: GlobalArgs, args: latchkey::cli::EventsArgs) -> Result<()> {
    let location = store_location(&global)?;
    if let StoreLocation::File(path) = &location
        && !path.exists()
    {
        bail!(
            "there is no store at {}: pass the --db a server uses",
            location.display()
        );
    }
    let store = Store::open_with(&location, global.store_options()).await?;
    let public_url = global
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", global.listen));
    let service = Service::new(store, global.config(&public_url), Arc::new(SystemClock));
    let mut stdout = std::io::stdout().lock();
    let result = latchkey::cli_events::run(
        &service,
        &args,
        &mut stdout,
        latchkey::cli_events::stop_signal(),
    )
    .await;
    service.store().close().await;
    let summary = result?;
    if !summary.is_empty() {
        eprintln!("latchkey: {summary}");
    }
    Ok(())
}

/// `latchkey store copy`: the rows per table on stdout, a summary on stderr.
async fn store_command(global: GlobalArgs, cmd: latchkey::cli::StoreCommand) -> Result<()> {
    use latchkey::store::copy;
    let latchkey::cli::StoreCommand::Copy { from, to } = cmd;
    let (from, to) = (
        copy::parse_location("--from", &from)?,
        copy::parse_location("--to", &to)?,
    );
    let report = copy::copy_between(&from, &to, global.store_options()).await?;
    print!("{report}");
    eprintln!(
        "latchkey: copied {} rows from {} to {}",
        report.total_rows(),
        from.display(),
        to.display()
    );
    Ok(())
}
