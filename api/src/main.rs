//! `cabinet`: the command line (see [`api::cli`]).

fn main() -> anyhow::Result<()> {
    api::cli::main()
}
