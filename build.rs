// Embed the libtorch library directory as an rpath so the binary (and test executables) run
// without LD_LIBRARY_PATH. torch-sys publishes the directory it linked against as
// DEP_TCH_LIBTORCH_LIB (its `links = "tch"`), whichever of LIBTORCH / LIBTORCH_USE_PYTORCH chose it.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(dir) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
        println!("cargo:rustc-env=FLOWCONX_LIBTORCH_LIB={dir}");
    }
}
