//! `lazyrich` command-line interface (layer 6): the only place with paths, stdout and exit codes.
//!
//! Exit codes: 0 success; 1 a verification row failed; 2 bad input or any other error (the
//! message names the problem and the fix; no partial output file is left behind).

fn main() {
    std::process::exit(lazyrich::cli::main());
}
