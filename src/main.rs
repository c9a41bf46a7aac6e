//! Command-line interface (native only).
fn main() {}
