//! Compiles `chat/**/v1/*.proto` with protox (no protoc binary needed) and
//! writes the descriptor set that server reflection serves.

use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "chat/auth/v1/auth.proto",
        "chat/profile/v1/profile.proto",
        "chat/room/v1/room.proto",
        "chat/messaging/v1/messaging.proto",
        "chat/events/v1/events.proto",
    ];
    for file in files {
        println!("cargo:rerun-if-changed={file}");
    }
    let fds = protox::compile(files, ["."])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out_dir.join("descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .generate_default_stubs(true)
        .compile_fds(fds)?;
    Ok(())
}
