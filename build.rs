// embed_migrations! cannot see newly added migration folders on its own.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
