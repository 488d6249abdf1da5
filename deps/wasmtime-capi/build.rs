//! Copies the C API headers that wasmtime-c-api-impl's build script generated
//! (it exports their folder as DEP_WASMTIME_C_API_INCLUDE) to the folder the
//! bootstrap names, so the engine cache holds the library and its headers together.
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create header folder");
    for entry in std::fs::read_dir(from).expect("read header folder") {
        let entry = entry.expect("header entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy header");
        }
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=GYRE_ENGINE_INCLUDE_OUT");
    let include = std::env::var("DEP_WASMTIME_C_API_INCLUDE").expect("wasmtime-c-api exports its headers");
    if let Ok(out) = std::env::var("GYRE_ENGINE_INCLUDE_OUT") {
        copy_dir(Path::new(&include), Path::new(&out));
    }
}
