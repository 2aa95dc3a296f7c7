//! Shared code of the fuzz targets: the structure-aware generator and the checks (also run on
//! stable by `core/tests/fuzz_shapes.rs`).
pub mod shapes;
pub mod yaml_subset;
