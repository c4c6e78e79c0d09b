//! The one integration-test binary (every extra binary re-links the large generated crate).

mod protos;
mod resource_names;
