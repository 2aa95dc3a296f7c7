//! The `svcroute` binary: glue between the command line and `svcroute-core`.
fn main() {}
