//! The `lithe` command line. Flags, files in and out, progress and exit codes live
//! here; all modelling and data logic lives in the library crates.

mod demo;
mod describe;
mod forecast;
mod inspect;
mod progress;
mod recommend;
mod serve;
mod spec_flags;
mod tabular;

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// lithe: right-sized machine-learning models for tables, time series and
/// recommendations, in one binary.
#[derive(Parser, Debug)]
#[command(name = "lithe", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Worker threads for parallel work (default: every core)
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// No progress bars and no informational messages
    #[arg(long, short, global = true)]
    quiet: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace)
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show what lithe sees in a data file: column types, missing and distinct counts, ranges
    Describe(describe::DescribeArgs),
    /// Print the header of a lithe model file: kind, format, parameters, schema, metrics
    Inspect(inspect::InspectArgs),
    /// Tree ensembles for tables: train, predict, eval, inspect
    #[command(subcommand)]
    Tabular(tabular::TabularCommand),
    /// Forecast many time series with StatsForecast's models; score forecasts (eval)
    Forecast(Box<forecast::ForecastCommand>),
    /// Two-tower retrieval: train on interactions, query users, evaluate
    #[command(subcommand)]
    Recommend(recommend::RecommendCommand),
    /// Serve every model of a repository over HTTP (the Open Inference Protocol)
    Serve(serve::ServeArgs),
    /// Run lithe on embedded sample data and print a scoreboard
    Demo(demo::DemoArgs),
}

/// Flags that control how data files are read; shared by every command that reads one.
#[derive(Args, Debug, Clone, Default)]
pub struct DataArgs {
    /// Read these columns as categorical even if they look numeric (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "COLS")]
    categorical: Vec<String>,
    /// The file has no header row; columns are named col_0, col_1, ...
    #[arg(long)]
    no_header: bool,
    /// Field delimiter: a single character, or `tab` (default: detected from the first line)
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    /// Lines to skip before the header
    #[arg(long, default_value_t = 0, value_name = "N")]
    skip_rows: usize,
    /// Extra tokens meaning "missing", besides empty, NA, NaN, null (comma-separated)
    #[arg(long, value_delimiter = ',', value_name = "TOKENS")]
    na_values: Vec<String>,
    /// Identifier columns the command reads as text exactly as written, beside
    /// lithe's own (`unique_id`, `user_id`, `item_id`)
    #[arg(skip)]
    ids: Vec<String>,
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        "space" => Ok(b' '),
        _ if s.len() == 1 && s.is_ascii() && s != "\"" && s != "\n" => Ok(s.as_bytes()[0]),
        _ => Err(format!(
            "'{s}' is not a delimiter: give one ASCII character, or `tab`"
        )),
    }
}

impl DataArgs {
    pub fn read_options(&self) -> lithe_core::ReadOptions {
        let mut opts = lithe_core::ReadOptions {
            has_header: !self.no_header,
            delimiter: self.delimiter,
            skip_rows: self.skip_rows,
            categorical: self.categorical.clone(),
            na_values: self.na_values.clone(),
            ..Default::default()
        };
        for c in &self.ids {
            opts = opts.with_id(c);
        }
        opts
    }
}

fn init_logging(g: &GlobalArgs) {
    let level = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LITHE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .without_time()
        .try_init();
}

fn init_threads(g: &GlobalArgs) -> anyhow::Result<()> {
    if let Some(n) = g.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n as usize)
            .build_global()
            .map_err(|e| anyhow::anyhow!("could not start {n} threads: {e}"))?;
    }
    Ok(())
}

/// Exit code for an error: 2 when the user's input is at fault, else 1.
fn exit_code(e: &anyhow::Error) -> u8 {
    let input = e.chain().any(|c| {
        c.downcast_ref::<lithe_core::Error>()
            .is_some_and(lithe_core::Error::is_input)
            || c.downcast_ref::<UsageError>().is_some()
    });
    if input { 2 } else { 1 }
}

/// A bad flag combination found after parsing.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Write to stdout; a closed pipe (e.g. `| head`) is not an error.
pub fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// The files a command reads and the files it writes.
#[derive(Default)]
pub struct Paths<'a> {
    pub inputs: Vec<&'a std::path::Path>,
    pub outputs: Vec<&'a std::path::Path>,
}

impl<'a> Paths<'a> {
    fn of(cmd: &'a Command) -> Paths<'a> {
        match cmd {
            Command::Describe(_) | Command::Inspect(_) | Command::Demo(_) | Command::Serve(_) => {
                Paths::default()
            }
            Command::Tabular(c) => c.paths(),
            Command::Forecast(c) => c.paths(),
            Command::Recommend(c) => c.paths(),
        }
    }

    /// Every output may be written (new, or an existing regular file) and is none of
    /// the inputs: checked before any work, so a mistake costs nothing.
    fn check(&self) -> lithe_core::Result<()> {
        for out in &self.outputs {
            let others: Vec<&std::path::Path> = self
                .inputs
                .iter()
                .copied()
                .filter(|p| !std::ptr::eq(*p, *out))
                .collect();
            lithe_core::io::check_output(out, &others)?;
        }
        Ok(())
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    init_logging(&cli.global);
    init_threads(&cli.global)?;
    Paths::of(&cli.command).check()?;
    match cli.command {
        Command::Describe(a) => describe::run(a, &cli.global),
        Command::Inspect(a) => inspect::run(a),
        Command::Tabular(c) => tabular::run(c, &cli.global),
        Command::Forecast(c) => forecast::run(*c, &cli.global),
        Command::Recommend(c) => recommend::run(c, &cli.global),
        Command::Serve(a) => serve::run(a, &cli.global),
        Command::Demo(a) => demo::run(a, &cli.global),
    }
}

/// The command line's grammar: negative numbers are values everywhere, so
/// `--learning-rate -1` reaches lithe's own checks rather than the parser's
/// "unexpected argument".
fn grammar() -> clap::Command {
    fn negatives(c: clap::Command) -> clap::Command {
        c.allow_negative_numbers(true).mut_subcommands(negatives)
    }
    negatives(<Cli as clap::CommandFactory>::command())
}

/// A parser error as one line and the usage line (help and version print whole).
fn parse_error(e: &clap::Error) -> String {
    use clap::error::ErrorKind;
    let text = e.to_string();
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        return text;
    }
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("error");
    match text.lines().find(|l| l.starts_with("Usage:")) {
        Some(usage) => format!("{first}\n{usage}\n"),
        None => format!("{first}\n"),
    }
}

fn main() -> ExitCode {
    let parsed = grammar()
        .try_get_matches()
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => {
            let msg = parse_error(&e);
            if e.use_stderr() {
                eprint!("{msg}");
            } else {
                print!("{msg}");
            }
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut msg = format!("error: {e}");
            for cause in e.chain().skip(1) {
                msg.push_str(&format!("\n  caused by: {cause}"));
            }
            eprintln!("{msg}");
            ExitCode::from(exit_code(&e))
        }
    }
}
