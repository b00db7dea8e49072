use std::path::PathBuf;
fn main() {
    let spec = sprint_rtl::spec::Spec::default_spec();
    let design = sprint_rtl::emit::render(&spec);
    sprint_rtl::emit::write_atomically(&PathBuf::from("/tmp/gen/sprint_s"), &design.files).unwrap();
}
