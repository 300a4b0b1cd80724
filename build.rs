//! Rebuilds when a migration changes: they are embedded in the binary
//! (`embed_migrations!`), and cargo does not watch that folder by itself.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
