//! Generates include/backendai.h with cbindgen on every build: first into OUT_DIR, then copied
//! to include/ only when the bytes differ (so a clean tree stays clean).

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed=src/ffi");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=Cargo.toml");

    let version = env::var("CARGO_PKG_VERSION").unwrap();
    let major: u32 = env::var("CARGO_PKG_VERSION_MAJOR").unwrap().parse().unwrap();
    let minor: u32 = env::var("CARGO_PKG_VERSION_MINOR").unwrap().parse().unwrap();
    let patch: u32 = env::var("CARGO_PKG_VERSION_PATCH").unwrap().parse().unwrap();

    let mut config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let version_macros = format!(
        "\n/** Major version of the header, from Cargo.toml. Compare with bai_version_num() at run time. */\n\
#define BAI_VERSION_MAJOR {major}\n/** Minor version of the header. */\n#define BAI_VERSION_MINOR {minor}\n\
/** Patch version of the header. */\n#define BAI_VERSION_PATCH {patch}\n\
/** Version of the header as text, \"major.minor.patch\". */\n#define BAI_VERSION_STRING \"{version}\"\n\
/** Version of the header as one number: (major << 16) | (minor << 8) | patch. Pass it to bai_check_version(). */\n\
#define BAI_VERSION_NUM 0x{num:06x}\n\
/** True when the header is at least version x.y.z. */\n\
#define BAI_AT_LEAST_VERSION(x, y, z) (BAI_VERSION_NUM >= (((x) << 16) | ((y) << 8) | (z)))\n",
        num = (major << 16) | (minor << 8) | patch
    );
    config.after_includes = Some(format!("{}{}", config.after_includes.clone().unwrap_or_default(), version_macros));

    // Only the C layer is read: no item of the Rust core can reach the header.
    let generated = out_dir.join("backendai.h");
    cbindgen::Builder::new()
        .with_src(crate_dir.join("src").join("ffi").join("mod.rs"))
        .with_config(config)
        .generate()
        .expect("cbindgen could not generate the header")
        .write_to_file(&generated);

    let target = crate_dir.join("include").join("backendai.h");
    let new = fs::read(&generated).unwrap();
    if fs::read(&target).ok().as_deref() != Some(new.as_slice()) {
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::write(&target, &new).expect("cannot write include/backendai.h");
    }
    println!("cargo:include={}", crate_dir.join("include").display());

    // The shared library carries a versioned soname (major.minor while in 0.x, where a minor
    // release may break the ABI), and a link of that name sits beside it in the target
    // directory so that programs linked against it there also run from there.
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        let soname = if major == 0 { format!("libbackendai.so.{major}.{minor}") } else { format!("libbackendai.so.{major}") };
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
        // abi/link-gcc (the linker, see .cargo/config.toml) links this library with the
        // version script abi/libbackendai.map.
        println!("cargo:rerun-if-changed=abi/libbackendai.map");
        // OUT_DIR is <target>/<profile>/build/<pkg>/out.
        if let Some(profile_dir) = out_dir.ancestors().nth(3) {
            let link = profile_dir.join(&soname);
            if fs::symlink_metadata(&link).is_err() {
                let _ = std::os::unix::fs::symlink("libbackendai.so", &link);
            }
        }
    }
}
